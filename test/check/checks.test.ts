import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../src/check/checks/index.js';
import { SUPPRESSIBLE } from '../../src/diagnostics/codes.js';
import { accept, drop, jump, type IR } from '../../src/model/ir.js';
import { load } from '../../src/load/load.js';
import { runCheckTable, type CheckTable } from './rule-tester.js';

const TABLES: Record<string, CheckTable> = {
  'ssh-lockout': {
    valid: [
      'version: 1\n',
      'version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: 22, from: 192.0.2.0/24 }\n',
      'version: 1\ndefaults: { input: reject }\ninbound:\n  - { port: "20-30" }\n',
      'version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: 22, from: 10.0.0.0/8, except: 10.0.0.5 }\n',
    ],
    invalid: [
      { policy: 'version: 1\ndefaults: { input: drop }\n', errors: [{ code: 'ssh-lockout', line: 2, column: 20, message: /locks you out/ }] },
      { policy: 'version: 1\ndefaults:\n  input: reject\ninbound:\n  - { port: 22, proto: udp }\n  - { port: 22, action: drop }\n', errors: [{ code: 'ssh-lockout', line: 3, column: 10 }] },
    ],
  },
  'no-established': {
    valid: ['version: 1\ndefaults: { established: false }\n', 'version: 1\ndefaults: { input: drop, established: true }\ninbound: [{ port: 22 }]\n'],
    invalid: [{ policy: 'version: 1\ndefaults: { output: drop, established: false }\n', errors: [{ code: 'no-established', line: 2, column: 40, message: /output drop by default/ }] }],
  },
  'ipv6-ndp': {
    valid: ['version: 1\ndefaults: { icmpv6-essentials: false }\n', 'version: 1\ndefaults: { input: drop }\ninbound: [{ port: 22 }]\n'],
    invalid: [{ policy: 'version: 1\ndefaults:\n  input: drop\n  icmpv6-essentials: false\ninbound: [{ port: 22 }]\n', errors: [{ code: 'ipv6-ndp', line: 4, column: 22 }] }],
  },
  'family-asymmetry': {
    valid: [
      'version: 1\noutbound:\n  - { to: [192.0.2.80, "2001:db8::80"], action: deny }\n',
      'version: 1\nusers:\n  - { user: 1001 }\n',
      'version: 1\ninbound:\n  - { port: 22, from: 192.0.2.1 }\n',
      'version: 1\noutbound:\n  - { to: 192.0.2.80, action: deny, suppress: { family-asymmetry: "no IPv6 address" } }\n',
    ],
    invalid: [
      { policy: 'version: 1\noutbound:\n  - { name: block-host, to: 192.0.2.80, action: deny }\n', errors: [{ code: 'family-asymmetry', line: 3, column: 5, message: /'block-host' blocks in IPv4 only/ }] },
      { policy: 'version: 1\nusers:\n  - { name: v4-only, user: 1001, family: ipv4 }\n', errors: [{ code: 'family-asymmetry', line: 3, column: 5 }] },
      { policy: 'version: 1\ninbound:\n  - { port: 22, from: "2001:db8::/32", action: drop }\n', errors: [{ code: 'family-asymmetry', line: 3, column: 5, message: /in IPv6 only/ }] },
    ],
  },
  'owner-name': {
    valid: ['version: 1\nusers:\n  - { user: 1001 }\n', 'version: 1\nusers:\n  - { user: "1000-1010" }\n', 'version: 1\nusers:\n  - { group: 100 }\n'],
    invalid: [
      { policy: 'version: 1\nusers:\n  - { user: www-data }\n', errors: [{ code: 'owner-name', line: 3, column: 13, message: /resolved on each host/ }] },
      { policy: 'version: 1\nusers:\n  - group: staff\n', errors: [{ code: 'owner-name', line: 3, column: 12 }] },
    ],
  },
  'port-usually-udp': {
    valid: [
      // Written proto: the author said which, tcp included.
      'version: 1\ninbound:\n  - { port: 53, proto: tcp }\n',
      'version: 1\ninbound:\n  - { port: 123, proto: [tcp, udp] }\n',
      'version: 1\ninbound:\n  - { service: dns }\n',
      // A range is deliberately broad, whatever it includes.
      'version: 1\ninbound:\n  - { port: "50-60" }\n',
      'version: 1\ninbound:\n  - { port: [22, 443] }\n',
      // notrack means udp without proto; a helper takes its helper's protocol.
      'version: 1\nnotrack:\n  - { port: 53 }\n',
      'version: 1\nhelpers:\n  - { helper: tftp, port: 69 }\n',
      'version: 1\ninbound:\n  - { port: 53, suppress: { port-usually-udp: "DNS over TCP only, for zone transfers" } }\n',
    ],
    invalid: [
      { policy: 'version: 1\ninbound:\n  - { name: dns, port: 53 }\n', errors: [{ code: 'port-usually-udp', line: 3, column: 24, message: /^port 53 \(DNS\) is usually UDP, but without `proto` this rule matches tcp only; write `service: dns` instead of `port` \(tcp\/53, udp\/53\), or `proto: udp`, or `proto: tcp` if tcp is what you mean$/ }] },
      { policy: 'version: 1\noutbound:\n  - { port: [22, 123, 5353] }\n', errors: [{ code: 'port-usually-udp', line: 3, column: 18, message: /NTP.*`service: ntp`/ }, { code: 'port-usually-udp', line: 3, column: 23, message: /mDNS/ }] },
      { policy: 'version: 1\nforward:\n  - { port: 1900 }\n', errors: [{ code: 'port-usually-udp', line: 3, column: 13, message: /SSDP.*write `proto: udp` \(or `proto: \[tcp, udp\]`\)/ }] },
      { policy: 'version: 1\nusers:\n  - { user: 1001, except: [{ port: 51820 }] }\n', errors: [{ code: 'port-usually-udp', line: 3, column: 36, message: /WireGuard/ }] },
      { policy: 'version: 1\nforwards:\n  - { port: 514, to: 10.0.0.5, interface: eth0 }\n', errors: [{ code: 'port-usually-udp', line: 3, column: 13, message: /syslog/ }] },
      { policy: 'version: 1\ninbound:\n  - { service: dns }\ntests:\n  - { port: 53, expect: allow }\n', errors: [{ code: 'port-usually-udp', line: 5, column: 13 }] },
    ],
  },
  'redirect-bypass': {
    valid: [
      // The deny covers the target port too: redirected connections meet it there.
      'version: 1\ninbound:\n  - { port: [8443, 8445], from: 10.9.0.0/16, action: deny }\nredirects:\n  - { port: 8445, to-port: 8443, local: false, hide-target: false }\n',
      // A ban on every port refuses them before and after nat alike.
      'version: 1\ninbound:\n  - { from: 10.9.0.0/16, action: drop }\nredirects:\n  - { port: 8445, to-port: 8443, local: false, hide-target: false }\n',
      // The redirect leaves out the denied sources.
      'version: 1\ninbound:\n  - { port: 8445, from: 10.9.0.0/16, action: deny }\nredirects:\n  - { port: 8445, to-port: 8443, from: 192.0.2.0/24, local: false, hide-target: false }\n',
      // Under a drop policy with no allow of 8443 the redirect's own accept decides: nothing slips past the deny...
      // ...but a deny of another port never meets the redirect.
      'version: 1\ninbound:\n  - { port: 8446, action: deny }\nredirects:\n  - { port: 8445, to-port: 8443, local: false, hide-target: false }\n',
    ],
    invalid: [
      { policy: 'version: 1\ninbound:\n  - { name: guests, port: 8445, from: [10.9.0.0/16, "2001:db8:9::/48"], action: deny }\nredirects:\n  - { name: alt, port: 8445, to-port: 8443, local: false, hide-target: false }\n', errors: [{ code: 'redirect-bypass', line: 3, column: 5, message: /redirect 'alt' \(policy.yaml:5:5\) moves connections to 8445 onto port 8443 .*'guests' never refuses them:/ }] },
      { policy: 'version: 1\ninbound:\n  - { name: admins, port: 8445, from: 198.51.100.7 }\nredirects:\n  - { port: 8445, to-port: 8443, local: false, hide-target: false }\n', errors: [{ code: 'redirect-bypass', line: 3, column: 5, message: /'admins' never refuses them \(the sources it does not list\)/ }] },
      // One of two redirects slips past; the finding names that one.
      { policy: 'version: 1\ninbound:\n  - { name: no-9000, port: 9000, action: drop }\nredirects:\n  - { name: a, port: 8445, to-port: 8443, local: false, hide-target: false }\n  - { name: b, port: 9000, to-port: 9001, local: false, hide-target: false }\n', errors: [{ code: 'redirect-bypass', line: 3, column: 5, message: /redirect 'b'/ }] },
    ],
  },
  'hide-target-allow': {
    valid: [
      'version: 1\ninbound:\n  - { port: 8443 }\nredirects:\n  - { port: 8445, to-port: 8443, local: false, hide-target: false }\n',
      // An allow of another port, beside a hidden one.
      'version: 1\ninbound:\n  - { port: 8444 }\nredirects:\n  - { port: 8445, to-port: 8443, local: false, hide-target: true }\n',
    ],
    invalid: [
      { policy: 'version: 1\ninbound:\n  - { name: open-target, port: 8443 }\nredirects:\n  - { name: alt, port: 8445, to-port: 8443, local: false, hide-target: true }\n', errors: [{ code: 'hide-target-allow', line: 3, column: 5, message: /'open-target' allows port 8443, which redirect 'alt' \(policy.yaml:5:5\) hides/ }] },
      // An allowlist of the hidden port, with local clients redirected too: hidden from loopback as well.
      { policy: 'version: 1\ninbound:\n  - { name: admins, port: 8443, from: 192.0.2.7 }\nredirects:\n  - { name: alt, port: 8445, to-port: 8443, local: true, hide-target: true }\n', errors: [{ code: 'hide-target-allow', line: 3, column: 5 }] },
    ],
  },
  // Each valid case is one where a naive reading of the policy says otherwise: the model follows
  // a redirect, an allowlist's implicit deny in the family it does not list, and an exception.
  'test-failed': {
    valid: [
      'version: 1\ndefaults: { input: drop }\naddresses:\n  admins: [192.0.2.10, 2001:db8::/64]\ninbound:\n  - { name: ssh, port: 22, from: admins }\ntests:\n  - { name: admins reach ssh, from: admins, port: 22, expect: allow }\n  - { name: nobody else, from: 203.0.113.0/24, port: 22, expect: reject }\n',
      // No rule allows port 80, but its connections are redirected to 8443, which is open.
      'version: 1\ndefaults: { input: drop }\ninbound:\n  - { name: app, port: 8443 }\nredirects:\n  - { name: web, port: 80, to-port: 8443, local: false, hide-target: false }\ntests:\n  - { name: web works, port: 80, expect: allow }\n',
      // IPv4 sources only, yet IPv6 is closed too: an allowlist denies other sources in every family.
      'version: 1\ninbound:\n  - { name: ssh, port: 22, from: 192.0.2.10 }\ntests:\n  - { name: no ipv6 ssh, from: 2001:db8::1, port: 22, expect: deny }\n  - { name: admin ssh, from: 192.0.2.10, port: 22, expect: allow }\n',
      'version: 1\ninbound:\n  - { name: no-ssh, port: 22, action: drop, except: 192.0.2.10 }\ntests:\n  - { name: admin still in, from: 192.0.2.10, port: 22, expect: allow }\n  - { name: others out, from: 192.0.2.11, port: 22, expect: drop }\n',
      'version: 1\nusers:\n  - { name: app, user: 1001, except: [{ to: 10.0.0.5, port: 5432 }] }\ntests:\n  - { name: app to db, user: 1001, to: 10.0.0.5, port: 5432, expect: allow }\n  - { name: app no web, user: 1001, to: 198.51.100.1, port: 443, expect: deny }\n  - { name: local is local, user: 1001, interface: lo, port: 443, expect: allow }\n',
    ],
    invalid: [
      {
        policy: 'version: 1\ndefaults: { input: drop }\naddresses:\n  admins: [192.0.2.10, 2001:db8::/64]\ninbound:\n  - { name: ssh, port: 22, from: 192.0.2.10 }\ntests:\n  - { name: admins reach ssh, from: admins, port: 22, expect: allow }\n',
        errors: [{ code: 'test-failed', line: 8, column: 5, message: /^test 'admins reach ssh' expects allow, but its IPv6 connections are rejected by 'ssh \(others\)' \(policy.yaml:6:5\)$/ }],
      },
      {
        policy: 'version: 1\ninbound:\n  - { name: app, port: 8443 }\nredirects:\n  - { name: web, port: 80, to-port: 8443, local: false, hide-target: true }\ntests:\n  - { name: app direct, port: 8443, from: 192.0.2.0/24, expect: allow }\n',
        errors: [{ code: 'test-failed', line: 7, column: 5, message: /its IPv4 connections are rejected by 'web \(hide target\)'/ }],
      },
      {
        policy: 'version: 1\ndefaults: { input: drop }\ntests:\n  - { name: smtp refused, port: 25, expect: reject }\n',
        errors: [{ code: 'test-failed', line: 4, column: 5, message: /its IPv4 connections are dropped by the default policy \(`defaults.input`\); its IPv6 connections are dropped/ }],
      },
      {
        policy: 'version: 1\nusers:\n  - { name: app, user: 1001, except: [{ to: 10.0.0.5, port: 5432 }] }\ntests:\n  - { name: app db anywhere, user: 1001, port: 5432, expect: allow }\n',
        errors: [{ code: 'test-failed', line: 5, column: 5, message: /IPv4 connections to any except 10.0.0.5 are rejected by 'app'/ }],
      },
    ],
  },
  'redirect-local': {
    valid: ['version: 1\nredirects:\n  - { port: 8445, to-port: 8443, local: false, hide-target: false }\n', 'version: 1\nredirects:\n  - { port: 8445, to-port: 8443, local: true, hide-target: true }\n'],
    invalid: [
      { policy: 'version: 1\nredirects:\n  - { port: 8445, to-port: 8443 }\n', errors: [{ code: 'redirect-local', line: 3, column: 5, message: /not redirected .*; port 8443 stays reachable directly/ }] },
      { policy: 'version: 1\nredirects:\n  - { port: 8445, to-port: 8443, local: true }\n', errors: [{ code: 'redirect-local', line: 3, column: 5, message: /^port 8443 stays reachable/ }] },
    ],
  },
  'docker-flush': {
    valid: ['version: 1\nownership: coexist\ndocker:\n  published:\n    - { port: 8080 }\n', 'version: 1\n'],
    invalid: [
      { policy: 'version: 1\ndocker:\n  published:\n    - { port: 8080 }\n', errors: [{ code: 'docker-flush', line: 3, column: 3, message: /needs `ownership: coexist`/ }] },
      { policy: 'version: 1\nownership: full\ndocker: {}\n', errors: [{ code: 'docker-flush', line: 3, column: 9 }] },
    ],
  },
  'docker-published': {
    valid: [
      'version: 1\nownership: coexist\ninbound:\n  - { port: 22 }\ndocker:\n  published:\n    - { port: 5432 }\n',
      'version: 1\nownership: coexist\ninbound:\n  - { port: 5432, proto: udp }\ndocker:\n  published:\n    - { port: 5432 }\n',
    ],
    invalid: [
      {
        policy: 'version: 1\nownership: coexist\ninbound:\n  - { name: db, port: ["5000-6000"] }\ndocker:\n  published:\n    - { name: pg, port: 5432 }\n',
        errors: [{ code: 'docker-published', line: 4, column: 5, message: /aims at a port Docker publishes \('pg' at policy\.yaml:7:7\)/ }],
      },
    ],
  },
  shadowed: {
    valid: [
      'version: 1\ninbound:\n  - { port: 80 }\n  - { port: 81, action: deny }\n',
      'version: 1\ninbound:\n  - { port: 22, from: 10.0.0.5, action: deny }\n  - { port: 22, from: 10.0.0.0/8, except: 10.0.0.5 }\n',
      'version: 1\ndefaults: { order: as-written }\ninbound:\n  - { port: 22, from: 10.0.0.0/9 }\n  - { port: 22, from: 10.0.0.0/8, action: drop }\n',
      'version: 1\nlimits:\n  - { port: 80, rate: 1/second }\ninbound:\n  - { port: 80, action: drop }\n',
      'version: 1\ndefaults: { order: as-written }\ninbound:\n  - { port: 22, interface: eth0 }\n  - { port: 22, interface: "eth+", action: drop }\n',
      // The target port's allowlist decides every redirected connection: the redirect's accept is a fallback.
      'version: 1\ninbound:\n  - { port: 8443, from: 192.0.2.3 }\nredirects:\n  - { port: 8445, to-port: 8443, local: false, hide-target: false }\n',
      // fragmentation-needed is one code of destination-unreachable: the drop still decides the other codes.
      'version: 1\ndefaults: { order: as-written }\ninbound:\n  - { proto: icmp, icmp-type: fragmentation-needed }\n  - { proto: icmp, icmp-type: destination-unreachable, action: drop }\n',
      // `l+` is more than lo: the loopback accept does not decide all of it.
      'version: 1\ninbound:\n  - { port: 5432, interface: "l+", action: deny }\n',
    ],
    invalid: [
      // The loopback accept comes first: a deny on lo never matches, reported at the rule the user wrote.
      {
        policy: 'version: 1\ninbound:\n  - { name: no-db-locally, port: 5432, interface: lo, action: deny }\n',
        errors: [{ code: 'shadowed', line: 3, column: 5, message: /'no-db-locally' never matches in ipv4 and ipv6: every packet it would reject is accepted earlier by 'ipfence: loopback'/ }],
      },
      // An allowlist on lo: its implicit deny of other sources is the loopback accept's, at the allowlist.
      {
        policy: 'version: 1\ninbound:\n  - { name: local-admins, port: 5432, interface: lo, from: 127.0.0.2 }\n',
        errors: [
          { code: 'shadowed', line: 3, column: 5, message: /'local-admins' is redundant in ipv4: every packet it matches is already accepted by 'ipfence: loopback'/ },
          { code: 'shadowed', line: 3, column: 5, message: /'local-admins \(others\)' never matches in ipv4 and ipv6/ },
        ],
      },
      {
        policy: 'version: 1\ninbound:\n  - { name: no-8443, port: 8443, action: deny }\nredirects:\n  - { name: alt, port: 8445, to-port: 8443, local: false, hide-target: false }\n',
        errors: [{ code: 'shadowed', line: 5, column: 5, message: /'alt \(redirected\)' never matches in ipv4 and ipv6: every connection the redirect delivers is rejected earlier by 'no-8443'.*use `hide-target: true` instead/ }],
      },
      {
        policy: 'version: 1\ndefaults: { order: as-written }\ninbound:\n  - { name: unreachable, proto: icmp, icmp-type: destination-unreachable, action: drop }\n  - { name: frag, proto: icmp, icmp-type: fragmentation-needed }\n',
        errors: [{ code: 'shadowed', line: 5, column: 5, message: /'frag' never matches in ipv4: every packet it would accept is dropped earlier by 'unreachable'/ }],
      },
      {
        policy: 'version: 1\ninbound:\n  - { name: web, port: 80 }\n  - { name: block-bad, port: 80, from: 192.0.2.5, action: deny }\n',
        errors: [{ code: 'shadowed', line: 4, column: 5, message: /'block-bad' never matches in ipv4: every packet it would reject is accepted earlier by 'web' \(policy\.yaml:3:5\)/ }],
      },
      {
        policy: 'version: 1\ndefaults: { order: as-written }\ninbound:\n  - { name: low, port: 22, from: 10.0.0.0/9 }\n  - { name: high, port: 22, from: 10.128.0.0/9 }\n  - { name: all-ten, port: 22, from: 10.0.0.0/8, action: drop }\n',
        errors: [{ code: 'shadowed', line: 6, column: 5, message: /accepted earlier by 'low' \(policy\.yaml:4:5\) and 'high' \(policy\.yaml:5:5\)/ }],
      },
      {
        policy: 'version: 1\ndefaults: { order: as-written }\ninbound:\n  - { name: any-eth, port: 22, interface: "eth+" }\n  - { name: eth0-only, port: 22, interface: eth0, action: drop }\n',
        errors: [{ code: 'shadowed', line: 5, column: 5 }],
      },
      {
        policy: 'version: 1\nusers:\n  - { name: range, user: "1000-1010" }\n  - { name: single, user: 1005 }\n',
        errors: [{ code: 'shadowed', line: 4, column: 5, message: /'single' is redundant in ipv4 and ipv6/ }],
      },
      // Duplicates: each is redundant because of the one before it, never because of a later one.
      {
        policy: 'version: 1\ninbound:\n  - { name: d0, port: 80 }\n  - { name: d1, port: 80 }\n  - { name: d2, port: 80 }\n',
        errors: [
          { code: 'shadowed', line: 4, column: 5, message: /^'d1' is redundant in ipv4 and ipv6: every packet it matches is already accepted by 'd0' \(policy\.yaml:3:5\); remove it$/ },
          { code: 'shadowed', line: 5, column: 5, message: /^'d2' is redundant in ipv4 and ipv6: every packet it matches is already accepted by 'd1' \(policy\.yaml:4:5\); remove it$/ },
        ],
      },
      {
        policy: 'version: 1\ninbound:\n  - { name: ports, port: ["20-30", 80] }\n  - { name: ssh, port: 22 }\n',
        errors: [{ code: 'shadowed', line: 4, column: 5, message: /redundant/ }],
      },
    ],
  },
};

describe('every check is registered, documented and tested', () => {
  it('lists each check module once in the index', () => {
    // Beside the checks: what a check is (api), the registry (index), and the walks they share.
    const files = readdirSync('src/check/checks').filter((f) => f.endsWith('.ts') && !['api.ts', 'index.ts', 'rule-sites.ts'].includes(f)).map((f) => f.replace(/\.ts$/, '')).sort();
    expect(CHECKS.map((c) => c.code).sort()).toEqual(files);
  });
  it.each(CHECKS.map((c) => [c.code, c] as const))('%s has docs and a test table', (code, c) => {
    expect(c.docs.length).toBeGreaterThan(40);
    expect(TABLES[code] ?? IR_TABLES[code], `no test table for ${code}`).toBeDefined();
  });
  // A lint check is shown at work in docs/checks.md; an invariant no policy reaches is tested on
  // hand-built IR, and no policy may turn it off.
  it.each(CHECKS.map((c) => [c.code, c] as const))('%s: its kind fits its example, tests and grading', (code, c) => {
    if (c.kind === 'lint') {
      expect(c.example, `${code} has no example`).toBeDefined();
      expect(TABLES[code], `${code} has no policy table`).toBeDefined();
    } else {
      expect(c.example).toBeUndefined();
      expect(IR_TABLES[code], `${code} has no IR table`).toBeDefined();
      expect(SUPPRESSIBLE).not.toContain(code);
    }
  });
});

for (const [code, table] of Object.entries(TABLES)) runCheckTable(code as never, table);

/**
 * line-too-long and arg-too-long guard the emitter itself: no valid policy reaches them (names,
 * prefixes and multiport lists are capped earlier), so they are tested on hand-built IR.
 */
const source = load('version: 1\n', 'policy.yaml').loaded!.source;
import { irOf, owner, port, redirect, resetT, tcp } from '../helpers/ir.js';

const IR_TABLES: Record<string, { valid: IR[]; invalid: { ir: IR; message: RegExp }[] }> = {
  'hook-interface': {
    valid: [irOf({ filter: { INPUT: [[[{ kind: 'in', iface: 'eth0' }], accept]], OUTPUT: [[[{ kind: 'out', iface: 'eth0' }], accept]] } })],
    invalid: [
      { ir: irOf({ filter: { OUTPUT: [[[], jump('u')]], u: [[[{ kind: 'in', iface: 'eth0' }], accept]] } }), message: /-i in u \(reached from OUTPUT\)/ },
      { ir: irOf({ filter: { INPUT: [[[{ kind: 'out', iface: 'eth0' }], accept]] } }), message: /-o in INPUT \(reached from INPUT\)/ },
    ],
  },
  'hook-owner': {
    valid: [irOf({ filter: { OUTPUT: [[[owner], accept]] } })],
    invalid: [{ ir: irOf({ filter: { INPUT: [[[], jump('u')]], OUTPUT: [[[], jump('u')]], u: [[[owner], accept]] } }), message: /reachable from INPUT;/ }],
  },
  'hook-redirect': {
    valid: [irOf({ nat: { PREROUTING: [[[tcp, port(1)], redirect]], OUTPUT: [[[tcp, port(1)], redirect]] } })],
    invalid: [
      { ir: irOf({ nat: { POSTROUTING: [[[tcp, port(1)], redirect]] } }), message: /not POSTROUTING/ },
      { ir: irOf({ filter: { INPUT: [[[tcp, port(1)], redirect]] } }), message: /not the filter table/ },
      { ir: irOf({ nat: { POSTROUTING: [[[tcp, port(1)], { kind: 'dnat', to: '10.0.0.2' }]] } }), message: /DNAT is only valid in nat PREROUTING and OUTPUT, not POSTROUTING/ },
    ],
  },
  'hook-snat': {
    valid: [irOf({ nat: { POSTROUTING: [[[], { kind: 'masquerade' }], [[], { kind: 'snat', to: '192.0.2.1' }]], INPUT: [[[], { kind: 'snat', to: '192.0.2.1' }]] } })],
    invalid: [
      { ir: irOf({ nat: { PREROUTING: [[[], { kind: 'snat', to: '192.0.2.1' }]] } }), message: /SNAT is only valid in nat INPUT and POSTROUTING, not PREROUTING/ },
      { ir: irOf({ nat: { INPUT: [[[], { kind: 'masquerade' }]] } }), message: /MASQUERADE is only valid in nat POSTROUTING, not INPUT/ },
    ],
  },
  'hook-notrack': {
    valid: [irOf({ raw: { PREROUTING: [[[tcp, port(53)], { kind: 'notrack' }]], OUTPUT: [[[tcp, port(21)], { kind: 'helper', helper: 'ftp' }]] } })],
    invalid: [
      { ir: irOf({ mangle: { PREROUTING: [[[tcp, port(53)], { kind: 'notrack' }]] } }), message: /CT --notrack is only valid in raw PREROUTING and OUTPUT, not the mangle table/ },
      { ir: irOf({ filter: { INPUT: [[[], jump('u')]], u: [[[tcp, port(21)], { kind: 'helper', helper: 'ftp' }]] } }), message: /CT --helper is only valid in raw/ },
    ],
  },
  'hook-reject': {
    valid: [irOf({ filter: { FORWARD: [[[tcp], resetT]] } })],
    invalid: [{ ir: irOf({ mangle: { OUTPUT: [[[tcp], resetT]] } }), message: /not the mangle table/ }],
  },
  'nat-filtering': {
    valid: [irOf({ nat: { PREROUTING: [[[tcp, port(1)], redirect]] } })],
    invalid: [{ ir: irOf({ nat: { PREROUTING: [[[], drop]] } }), message: /DROP in the nat table/ }],
  },
  'tcp-reset': {
    valid: [irOf({ filter: { INPUT: [[[tcp], resetT], [[port(22)], resetT]] } })],
    invalid: [{ ir: irOf({ filter: { INPUT: [[[], resetT]] } }), message: /needs the rule itself to match -p tcp/ }],
  },
  'family-icmp': {
    valid: [irOf({ filter: { INPUT: [[[{ kind: 'proto', proto: 'icmp' }, { kind: 'icmp-type', name: 'neighbour-solicitation' }], accept]] } }, 'ipv6')],
    invalid: [{ ir: irOf({ filter: { INPUT: [[[{ kind: 'proto', proto: 'icmp' }, { kind: 'icmp-type', name: 'neighbour-solicitation' }], accept]] } }, 'ipv4'), message: /does not exist in IPv4/ }],
  },
};

const byCode = new Map(CHECKS.map((c) => [c.code as string, c]));
for (const [code, t] of Object.entries(IR_TABLES)) {
  describe(`${code} (on IR)`, () => {
    it('has valid and invalid cases', () => {
      expect(t.valid.length).toBeGreaterThan(0);
      expect(t.invalid.length).toBeGreaterThan(0);
    });
    it.each(t.valid.map((ir, i) => [i, ir] as const))('valid #%i', (_i, ir) => {
      expect(byCode.get(code)!.check({ ir, policy: { version: 1 }, source })).toEqual([]);
    });
    it.each(t.invalid.map((c, i) => [i, c] as const))('invalid #%i', (_i, c) => {
      const found = byCode.get(code)!.check({ ir: c.ir, policy: { version: 1 }, source });
      expect(found.map((d) => d.code)).toEqual([code]);
      expect(found[0]!.message).toMatch(c.message);
    });
  });
}
