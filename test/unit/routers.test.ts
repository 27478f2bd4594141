import { describe, expect, it } from 'vitest';
import { compileText, yaml } from '../helpers/compile.js';
import { memoryIO } from '../helpers/io.js';
import { main } from '../../src/cli/main.js';
import { decidingRule, explainPacket } from '../../src/analysis/explain.js';
import { modelsOf } from '../../src/packet/path.js';
import type { Family } from '../../src/model/ir.js';
import type { Packet } from '../../src/packet/space.js';

/** The router sections as compiled text, and their mistakes reported at the policy. */
const rules = (text: string, file: 'rules.v4' | 'rules.v6' = 'rules.v4'): string[] => {
  const r = compileText(text);
  if (!r.files[file]) throw new Error(r.report);
  return r.files[file]!.split('\n').filter((l) => l.startsWith('-A IPFENCE-') || l.startsWith('*'));
};
const errors = (text: string): string => compileText(text).report;

const HOST = 'version: 1\nhost: { addresses: [203.0.113.1, "2001:db8:1::1"] }\n';

describe('services', () => {
  it('a list of services becomes one rule per protocol with its ports, and a policy adds its own', () => {
    const out = rules('version: 1\nservices: { app: [tcp/8443, udp/8443-8445] }\ninbound:\n  - { name: a, service: [ssh, dns, app] }\n');
    expect(out).toContain('-A IPFENCE-INPUT -p tcp -m multiport --dports 22,53,8443 -m comment --comment "a" -j ACCEPT');
    expect(out).toContain('-A IPFENCE-INPUT -p udp -m multiport --dports 53,8443:8445 -m comment --comment "a" -j ACCEPT');
  });

  it('reports an unknown name with a suggestion, a redefined built-in, a bad entry, and service beside port', () => {
    expect(errors('version: 1\ninbound:\n  - { service: htps }\n')).toContain("policy.yaml:3:16: error: unknown service 'htps' (did you mean 'https'?)");
    expect(errors('version: 1\nservices: { ssh: [tcp/2222] }\n')).toContain("policy.yaml:2:18: error: 'ssh' is a built-in service (tcp/22); name yours differently");
    expect(errors('version: 1\nservices: { app: [tcp/99999] }\ninbound:\n  - { service: app }\n')).toMatch(/policy\.yaml:2:\d+: error: 'tcp\/99999' is not protocol\/port/);
    expect(errors('version: 1\ninbound:\n  - { service: ssh, port: 22 }\n')).toContain('policy.yaml:3:27: error: `service` names its protocols and ports; remove `port`');
  });

  it('an except with a service of two port groups gets one chain per group', () => {
    const out = rules('version: 1\ninbound:\n  - { name: e, service: [ssh, ntp], except: 10.0.0.1 }\n');
    expect(out).toContain('-A IPFENCE-INPUT -p tcp -m tcp --dport 22 -m comment --comment "e" -j ipf-in-1');
    expect(out).toContain('-A IPFENCE-INPUT -p udp -m udp --dport 123 -m comment --comment "e" -j ipf-in-1-2');
  });
});

describe('source NAT', () => {
  it('masquerade follows its addresses\' families; snat its to-source', () => {
    const text = 'version: 1\nmasquerade:\n  - { name: m, out: eth0, from: 10.0.0.0/8 }\nsnat:\n  - { name: s, out: eth1, to-source: "2001:db8::7" }\n';
    expect(rules(text)).toContain('-A IPFENCE-POSTROUTING -s 10.0.0.0/8 -o eth0 -m comment --comment "m" -j MASQUERADE');
    expect(rules(text).join('\n')).not.toContain('SNAT');
    expect(rules(text, 'rules.v6')).toContain('-A IPFENCE-POSTROUTING -o eth1 -m comment --comment "s" -j SNAT --to-source 2001:db8::7');
    expect(rules(text, 'rules.v6').join('\n')).not.toContain('MASQUERADE');
  });

  it('refuses an snat that meets a masquerade rule: which applies would depend on section order', () => {
    expect(errors('version: 1\nmasquerade:\n  - { name: m, out: eth0 }\nsnat:\n  - { name: s, out: eth0, from: 10.0.0.5, to-source: 192.0.2.1 }\n')).toContain("policy.yaml:5:5: error: snat 's' catches connections that masquerade 'm' (policy.yaml:3:5) also catches");
    expect(errors('version: 1\nmasquerade:\n  - { name: m, out: eth1 }\nsnat:\n  - { name: s, out: eth0, to-source: 192.0.2.1 }\n')).toBe('');
  });

  it('refuses a network as to-source, and sources of a family it has no address for', () => {
    expect(errors('version: 1\nsnat:\n  - { out: eth0, to-source: 192.0.2.0/24 }\n')).toContain("error: `to-source` '192.0.2.0/24' must be a single address, not a network [forward-address]");
    expect(errors('version: 1\nsnat:\n  - { out: eth0, from: "fd00::/8", to-source: 192.0.2.1 }\n')).toContain('error: this rule names IPv6 addresses but gives no IPv6 address to translate to');
  });
});

describe('port forwards', () => {
  const fwd = yaml`
    forwards:
      - { name: web, port: 8080, to: [10.0.0.5, "fd00::5"], to-port: 80, interface: eth0, local-address: [203.0.113.1, "2001:db8:1::1"], from: [198.51.100.0/24, "2001:db8:2::/48"] }
  `;
  it('DNATs in nat PREROUTING and accepts exactly the forwarded connections in FORWARD, in both families', () => {
    const v4 = rules(HOST + fwd);
    expect(v4).toContain('-A IPFENCE-PREROUTING -s 198.51.100.0/24 -d 203.0.113.1/32 -i eth0 -p tcp -m tcp --dport 8080 -m comment --comment "web" -j DNAT --to-destination 10.0.0.5:80');
    expect(v4).toContain('-A IPFENCE-FORWARD -s 198.51.100.0/24 -d 10.0.0.5/32 -i eth0 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -m conntrack --ctorigdstport 8080 -m conntrack --ctorigdst 203.0.113.1/32 -m comment --comment "web (forwarded)" -j ACCEPT');
    expect(rules(HOST + fwd, 'rules.v6')).toContain('-A IPFENCE-PREROUTING -s 2001:db8:2::/48 -d 2001:db8:1::1/128 -i eth0 -p tcp -m tcp --dport 8080 -m comment --comment "web" -j DNAT --to-destination [fd00::5]:80');
  });

  it('the model follows a forwarded connection through FORWARD: tests of it pass and fail as the kernel would', () => {
    const tests = yaml`
      defaults: { input: drop, forward: drop }
      tests:
        - { name: forwarded, from: 198.51.100.9, to: 203.0.113.1, port: 8080, interface: eth0, expect: allow }
        - { name: not from elsewhere, from: 192.0.2.9, to: 203.0.113.1, port: 8080, interface: eth0, expect: allow }
        - { name: direct, direction: forward, from: 198.51.100.9, to: 10.0.0.5, port: 80, in: eth0, out: eth1, expect: deny }
    `;
    const r = compileText(HOST + fwd + tests);
    // Not translated (not from the allowlist), it is this host's to decide, and INPUT drops it.
    expect(r.diagnostics.filter((d) => d.code === 'test-failed').map((d) => `${d.line}: ${d.message}`)).toEqual([
      "8: test 'not from elsewhere' expects allow, but its IPv4 connections are dropped by the default policy (`defaults.input`)",
    ]);
  });

  it("a forward without local-address catches its port on this host's addresses only, not a connection routed through it to another host", () => {
    const policy = `${HOST}defaults: { forward: drop }\nforward:\n  - { name: to the app, in: eth0, out: eth1, to: 10.0.0.7, port: 8080 }\nforwards:\n  - { name: web, port: 8080, to: 10.0.0.5, to-port: 80, interface: eth0 }\n`;
    const r = compileText(policy);
    if (!r.ir) throw new Error(r.report);
    expect(rules(policy).filter((l) => l.includes('"web'))).toEqual([
      '-A IPFENCE-FORWARD -d 10.0.0.5/32 -i eth0 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT -m conntrack --ctorigdstport 8080 -m conntrack --ctorigdst 203.0.113.1/32 -m comment --comment "web (forwarded)" -j ACCEPT',
      '-A IPFENCE-PREROUTING -d 203.0.113.1/32 -i eth0 -p tcp -m tcp --dport 8080 -m comment --comment "web" -j DNAT --to-destination 10.0.0.5:80',
    ]);
    const model = modelsOf(r.ir).find((m) => m.family === 'ipv4')!;
    const through = explainPacket(model, 'forward', { src: '198.51.100.9', dst: '10.0.0.7', proto: 6, sport: 40000, dport: 8080, in: 'eth0', out: 'eth1', state: 'NEW' })![0]!.explanation;
    expect(through.events.filter((e) => e.kind === 'translated')).toEqual([]);
    expect(decidingRule(through.outcome)?.origin.label).toBe('to the app');
    const forwarded = explainPacket(model, 'in', { src: '198.51.100.9', dst: '203.0.113.1', proto: 6, sport: 40000, dport: 8080, in: 'eth0', state: 'NEW' })![0]!.explanation;
    expect(decidingRule(forwarded.outcome)?.origin.label).toBe('web (forwarded)');
    // With no address of this host to go by, every address, said as a warning.
    expect(errors('version: 1\nforwards:\n  - { name: web, port: 8080, to: 10.0.0.5, interface: eth0 }\n')).toContain('policy.yaml:3:5: warning: this forward has no `local-address` and `host.addresses` has no IPv4 address, so it catches port 8080 of every IPv4 address arriving by its interface, connections routed through this host to other hosts included; give `local-address`, or this host\'s addresses in `host.addresses` [forward-any-address]');
  });

  it('refuses a forward to this host, one that would catch every address, a hairpin without local-address, and a duplicate of a redirect', () => {
    expect(errors(`${HOST}forwards:\n  - { port: 80, to: 203.0.113.1, interface: eth0 }\n`)).toContain("error: '203.0.113.1' is this host's own address (`host.addresses`); a connection to a port of this host is a redirect");
    expect(errors(`${HOST}forwards:\n  - { port: 80, to: 10.0.0.5 }\n`)).toContain('error: a forward of port 80 with neither `interface` nor `local-address` would also catch connections through this host');
    expect(errors(`${HOST}forwards:\n  - { port: 80, to: 10.0.0.5, interface: eth0, hairpin: { from: 10.0.0.0/24 } }\n`)).toContain('error: a hairpin catches inside clients by the public address');
    expect(errors(`${HOST}redirects:\n  - { name: r, port: 80, to-port: 8080 }\nforwards:\n  - { name: f, port: 80, to: 10.0.0.5, interface: eth0 }\n`)).toMatch(/policy\.yaml:6:5: error: forward 'f' catches connections already translated by 'r' \(policy\.yaml:4:5\)/);
  });
});

describe('the raw table', () => {
  it('notrack: queries in PREROUTING, replies in OUTPUT by source port, and filter OUTPUT accepts the untracked replies', () => {
    const out = rules(`${HOST}notrack:\n  - { name: dns, port: 53 }\n`);
    expect(out).toContain('-A IPFENCE-PREROUTING -d 203.0.113.1/32 -p udp -m udp --dport 53 -m comment --comment "dns" -j CT --notrack');
    expect(out).toContain('-A IPFENCE-OUTPUT -s 203.0.113.1/32 -p udp -m udp --sport 53 -m comment --comment "dns (replies)" -j CT --notrack');
    expect(out).toContain('-A IPFENCE-OUTPUT -s 203.0.113.1/32 -p udp -m udp --sport 53 -m conntrack --ctstate UNTRACKED -m comment --comment "dns (replies)" -j ACCEPT');
  });

  it("a notrack service's port lets out neither a blocked user nor a denied destination: its replies' accept follows the blocks and denies", () => {
    const policy = yaml`
      version: 1
      host: { addresses: [203.0.113.1, "2001:db8:1::1"] }
      defaults: { output: drop }
      users:
        - { name: no uid 1000, user: 1000 }
      outbound:
        - { name: not there, action: deny, to: [192.0.2.66, "2001:db8:66::1"] }
        - { name: web, proto: tcp, port: 443, to: [198.51.100.0/24, "2001:db8:7::/48"] }
      notrack:
        - { name: statsd, port: 8125 }
        - { name: api, port: 8080, proto: tcp }
    `;
    const r = compileText(policy);
    if (!r.ir) throw new Error(r.report);
    const out = rules(policy);
    const at = (label: string) => out.findIndex((l) => l.includes(`"${label}"`));
    // In the file: the replies' accept after the user's block and the outbound deny.
    expect(at('statsd (replies)')).toBeGreaterThan(at('not there'));
    expect(at('statsd (replies)')).toBeGreaterThan(at('no uid 1000'));
    expect(out).toContain('-A IPFENCE-OUTPUT -m owner --uid-owner 1000 -m conntrack --ctstate NEW,UNTRACKED -m comment --comment "no uid 1000" -j REJECT --reject-with icmp-port-unreachable');
    // In the model: what the kernel does with each packet (raw OUTPUT notracks all of them).
    const fate = (f: Family, p: Omit<Packet, 'state'>): string => {
      const model = modelsOf(r.ir!).find((m) => m.family === f)!;
      const e = explainPacket(model, 'out', { ...p, state: 'NEW' })![0]!.explanation;
      return `${e.outcome.verdict} by ${decidingRule(e.outcome)?.origin.label ?? 'policy'}`;
    };
    const here = { ipv4: '203.0.113.1', ipv6: '2001:db8:1::1' } as const;
    const denied = { ipv4: '192.0.2.66', ipv6: '2001:db8:66::1' } as const;
    const other = { ipv4: '198.51.100.7', ipv6: '2001:db8:7::7' } as const;
    for (const f of ['ipv4', 'ipv6'] as const) {
      for (const [proto, sport] of [[17, 8125], [6, 8080]] as const) {
        expect(fate(f, { src: here[f], dst: denied[f], proto, sport, dport: 9999, out: 'eth0', uid: '1000' }), `${f} ${proto} blocked user to a denied host`).toBe('reject by no uid 1000');
        expect(fate(f, { src: here[f], dst: other[f], proto, sport, dport: 9999, out: 'eth0', uid: '1000' }), `${f} ${proto} blocked user elsewhere`).toBe('reject by no uid 1000');
        expect(fate(f, { src: here[f], dst: denied[f], proto, sport, dport: 9999, out: 'eth0', uid: '33' }), `${f} ${proto} to a denied host`).toBe('reject by not there');
        expect(fate(f, { src: here[f], dst: other[f], proto, sport, dport: 9999, out: 'eth0', uid: '33' }), `${f} ${proto} the service's reply`).toBe(`accept by ${sport === 8125 ? 'statsd' : 'api'} (replies)`);
      }
    }
  });

  it('a router must say which addresses are its own, or notrack would take forwarded connections out of NAT', () => {
    expect(errors('version: 1\nmasquerade:\n  - { out: eth0 }\nnotrack:\n  - { port: 53 }\n')).toContain("policy.yaml:5:5: error: this host forwards connections, and raw's notrack would also catch the ones through it");
  });

  it("helpers watch incoming control connections to this host's own addresses, and a router must say which those are", () => {
    const helper = 'forward:\n  - { in: eth1, out: eth0 }\nhelpers:\n  - { name: ftp, helper: ftp, interface: eth1 }\n';
    const v4 = rules(HOST + helper);
    expect(v4).toContain('-A IPFENCE-PREROUTING -d 203.0.113.1/32 -i eth1 -p tcp -m tcp --dport 21 -m comment --comment "ftp" -j CT --helper ftp');
    expect(v4.filter((l) => l.includes('CT --helper'))).toHaveLength(1);
    expect(rules(HOST + helper, 'rules.v6')).toContain('-A IPFENCE-PREROUTING -d 2001:db8:1::1/128 -i eth1 -p tcp -m tcp --dport 21 -m comment --comment "ftp" -j CT --helper ftp');
    // Written `to` is the author's choice (a server behind this host), and `out` is this host's own connections.
    expect(rules(`${HOST}forward:\n  - { in: eth1, out: eth0 }\nhelpers:\n  - { helper: ftp, to: 10.0.0.5 }\n  - { helper: ftp, direction: out }\n`)).toEqual(expect.arrayContaining([
      '-A IPFENCE-PREROUTING -d 10.0.0.5/32 -p tcp -m tcp --dport 21 -m comment --comment "helpers[0]" -j CT --helper ftp',
      '-A IPFENCE-OUTPUT -p tcp -m tcp --dport 21 -m comment --comment "helpers[1]" -j CT --helper ftp',
    ]));
    for (const routing of ['forward:\n  - { in: eth1, out: eth0 }\n', 'masquerade:\n  - { out: eth0 }\n', 'forwards:\n  - { port: 80, to: 10.0.0.5, interface: eth0 }\n']) {
      expect(errors(`version: 1\n${routing}helpers:\n  - { helper: ftp, interface: eth1 }\n`), routing).toMatch(/policy\.yaml:\d+:5: error: this host forwards connections, and the ftp helper would also watch the ones through it, .*; give `to` \(this host's addresses\) or list them in `host\.addresses`/);
      expect(errors(`version: 1\n${routing}helpers:\n  - { helper: ftp, direction: both }\n`), routing).toContain('error: this host forwards connections, and the ftp helper');
    }
    expect(errors('version: 1\nmasquerade:\n  - { out: eth0 }\nhelpers:\n  - { helper: ftp, direction: out }\n')).toBe('');
  });

  it('the model knows what a helper makes RELATED, and explain says it: the gateway\'s own FTP data connections, not a LAN client\'s port', async () => {
    const explain = async (spec: string) => {
      const { io, out } = memoryIO();
      const code = await main(['explain', 'examples/router.yaml', spec], io);
      return { code, text: out.stdout };
    };
    const own = await explain('tcp 10.1.0.50:40000 -> 10.1.0.1:50021 in br-lan state RELATED');
    expect(own.code).toBe(0);
    expect(own.text).toContain("RELATED: announced by a control connection that 'ftp' (examples/router.yaml:35:5) conntrack helper ftp watches");
    expect(own.text).toMatch(/accepted by 'ipfence: established' \(examples\/router.yaml:13:11\)\n$/);
    // The attack of issue 34: an internet server to a LAN client's port 22, as RELATED.
    const attack = await explain('tcp 203.0.113.7:20 -> 10.1.0.20:22 in eth0 out br-lan state RELATED');
    expect(attack.text).toContain('RELATED: no helper of this policy announces such a connection, so only an ICMP error about a connection can be RELATED');
    const json = await main(['explain', 'examples/router.yaml', 'tcp 10.1.0.50:40000 -> 10.1.0.1:50021 in br-lan state RELATED', '--format', 'json'], memoryIO().io);
    expect(json).toBe(0);
    // A helper on connections through the gateway (as before issue 34) is the one that would announce it.
    const r = compileText(`${HOST}forward:\n  - { in: eth1, out: eth0 }\nhelpers:\n  - { name: ftp anywhere, helper: ftp, interface: eth1, to: 0.0.0.0/0 }\n`);
    const model = modelsOf(r.ir!).find((m) => m.family === 'ipv4')!;
    const told = explainPacket(model, 'forward', { src: '203.0.113.7', dst: '10.0.0.20', proto: 6, sport: 20, dport: 22, in: 'eth0', out: 'eth1', state: 'RELATED' })![0]!.explanation;
    expect(told.events.find((e) => e.kind === 'related')).toMatchObject({ helpers: [{ origin: { label: 'ftp anywhere' } }] });
  });

  it('a helper the kernel does not have for a protocol or family is refused where it is written; one no family was chosen for goes where it exists', () => {
    const table: [string, string][] = [
      ['{ helper: ftp, proto: udp }', "policy.yaml:3:27: error: the kernel's ftp helper watches tcp control connections, not udp (iptables-restore refuses `CT --helper ftp` on them); write `proto: tcp` or remove `proto` [helper-unsupported]"],
      ['{ helper: tftp, proto: tcp }', "policy.yaml:3:28: error: the kernel's tftp helper watches udp control connections, not tcp (iptables-restore refuses `CT --helper tftp` on them); write `proto: udp` or remove `proto` [helper-unsupported]"],
      ['{ helper: sip, proto: [udp, sctp] }', "policy.yaml:3:27: error: the kernel's sip helper watches tcp and udp control connections, not sctp (iptables-restore refuses `CT --helper sip` on them); write `proto: [tcp, udp]` or remove `proto` [helper-unsupported]"],
      ['{ helper: irc, family: both }', 'policy.yaml:3:28: error: the kernel has no irc helper for IPv6 tcp (ip6tables-restore refuses `CT --helper irc`); set `family: ipv4` [helper-unsupported]'],
      ['{ helper: netbios-ns, family: ipv6 }', 'policy.yaml:3:35: error: the kernel has no netbios-ns helper for IPv6 udp (ip6tables-restore refuses `CT --helper netbios-ns`); set `family: ipv4` [helper-unsupported]'],
      ['{ helper: pptp, to: [192.0.2.1, "2001:db8::1"] }', 'policy.yaml:3:25: error: the kernel has no pptp helper for IPv6 tcp (ip6tables-restore refuses `CT --helper pptp`); remove its IPv6 addresses (the kernel has it for IPv4 only) [helper-unsupported]'],
    ];
    for (const [entry, message] of table) expect(errors(`version: 1\nhelpers:\n  - ${entry}\n`).trim(), entry).toBe(message);
    // Nothing written chose IPv6: the snmp helper is IPv4's.
    expect(rules('version: 1\nhelpers:\n  - { helper: snmp }\n')).toContain('-A IPFENCE-PREROUTING -p udp -m udp --dport 161 -m comment --comment "helpers[0]" -j CT --helper snmp');
    expect(rules('version: 1\nhelpers:\n  - { helper: snmp }\n', 'rules.v6').filter((l) => l.includes('CT --helper'))).toEqual([]);
    expect(rules('version: 1\nhelpers:\n  - { helper: sip, proto: [tcp, udp], family: ipv6 }\n', 'rules.v6').filter((l) => l.includes('CT --helper'))).toHaveLength(2);
  });

  it('helpers default to their protocol\'s port; drop-invalid drops in mangle PREROUTING', () => {
    const out = rules('version: 1\ndefaults: { drop-invalid: true }\nhelpers:\n  - { helper: tftp, direction: both }\n');
    expect(out).toContain('-A IPFENCE-PREROUTING -p udp -m udp --dport 69 -m comment --comment "helpers[0]" -j CT --helper tftp');
    expect(out).toContain('-A IPFENCE-OUTPUT -p udp -m udp --dport 69 -m comment --comment "helpers[0]" -j CT --helper tftp');
    expect(out).toContain('-A IPFENCE-PREROUTING -m conntrack --ctstate INVALID -m comment --comment "ipfence: drop invalid" -j DROP');
  });
});

describe('NFLOG and MLD', () => {
  it('log: { nflog } writes NFLOG with a prefix of up to 63 bytes, and `logging.nflog` sends every log there', () => {
    expect(rules('version: 1\ninbound:\n  - { name: w, port: 80, log: { nflog: 3, prefix: "a prefix longer than LOG allows: 40 b " } }\n').join('\n')).toContain('-j NFLOG --nflog-group 3 --nflog-prefix "a prefix longer than LOG allows: 40 b "');
    expect(errors(`version: 1\ninbound:\n  - { port: 80, log: { nflog: 3, prefix: "${'x'.repeat(64)}" } }\n`)).toContain('error: NFLOG prefix is 64 bytes; iptables keeps only 63');
    expect(rules('version: 1\nlogging: { nflog: 9 }\ndefaults: { input: drop }\n').join('\n')).toContain('-j NFLOG --nflog-group 9 --nflog-prefix "ipfence INPUT drop: "');
  });

  it('MLD is among the ICMPv6 essentials, on the link only (hop limit 1)', () => {
    expect(rules('version: 1\ndefaults: { input: drop }\n', 'rules.v6')).toContain('-A IPFENCE-INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 130 -m hl --hl-eq 1 -m comment --comment "ipfence: mld-listener-query" -j ACCEPT');
  });
});

describe('routes of a mark', () => {
  it('go to apply.sh as routes of the mark\'s table, host routes without their length', () => {
    const r = compileText('version: 1\nmarks:\n  - { mark: 2, table: 100, dev: eth1, routes: [{ to: [10.8.0.0/24, 10.9.0.1], via: 10.0.0.254 }] }\n');
    const apply = r.files['apply.sh']!;
    expect(apply).toContain('4 route 100 default - eth1\n4 route 100 10.8.0.0/24 10.0.0.254 -\n4 route 100 10.9.0.1 10.0.0.254 -\n');
  });

  it('refuse a route without a table, and one of a family the mark does not set', () => {
    expect(errors('version: 1\nmarks:\n  - { mark: 2, routes: [{ to: 10.8.0.0/24 }] }\n')).toContain('error: `via`, `dev` and `routes` describe the routes of a routing table; add `table: N`');
    expect(errors('version: 1\nmarks:\n  - { mark: 2, from: 10.0.0.0/8, table: 7, routes: [{ to: "fd00::/8" }] }\n')).toContain('error: this route is of a family the mark does not set');
  });
});
