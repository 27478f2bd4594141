import { describe, expect, it } from 'vitest';
import { compileOrThrow } from '../helpers/compile.js';
import { kernelLab, type XtablesVariant } from '../../src/verify/netns.js';
import { addr, LOCAL, withLab, type Family, type Lab } from '../helpers/lab.js';

/**
 * Real packets through compiled rules: a server namespace loads the output of a policy written
 * for the lab's addresses, and clients connect over IPv4 and IPv6. Each expectation is paired
 * with a control (the same probe that must succeed) so a broken lab cannot pass as "blocked".
 */
const lab = kernelLab();
const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
const C1 = { ipv4: '192.0.2.2', ipv6: '2001:db8:99::2' };
const C2 = { ipv4: '192.0.2.3', ipv6: '2001:db8:99::3' };

const build = (policy: string) => compileOrThrow(policy, 'lab.yaml');

async function scenario(backend: XtablesVariant, policy: string, body: (lab: Lab) => Promise<void>): Promise<void> {
  const artifacts = build(policy);
  await withLab(async (l) => {
    l.load(backend, artifacts);
    await body(l);
  });
}

describe.runIf(lab.ok).each(lab.ok ? lab.backends : [])('traffic through compiled rules (%s back end)', (backend) => {
  it('user outbound: uid 1001 cannot open connections (refused fast), its exception works, its service answers, root and loopback are unaffected', async () => {
    const policy = `version: 1
users:
  - { name: no-egress, user: 1001, outbound: reject, except: [{ to: [${C2.ipv4}, "${C2.ipv6}"], port: 7000 }] }
`;
    await scenario(backend, policy, async (l) => {
      await l.serve(l.c1, ['tcp:7000']);
      await l.serve(l.c2, ['tcp:7000', 'tcp:7001']);
      await l.serve(l.server, ['tcp:8000'], 1001);
      await l.serve(l.server, ['tcp:8001']);
      for (const f of FAMILIES) {
        expect(l.connect(l.server, addr(l.c1, f), 7000, { uid: 1001 }), `${f} uid 1001 -> c1`).toBe('refused');
        expect(l.connect(l.server, addr(l.c2, f), 7001, { uid: 1001 }), `${f} uid 1001 -> c2:7001`).toBe('refused');
        expect(l.connect(l.server, addr(l.c2, f), 7000, { uid: 1001 }), `${f} exception`).toBe('c2:7000');
        expect(l.connect(l.server, addr(l.c1, f), 7000), `${f} root -> c1`).toBe('c1:7000');
        expect(l.connect(l.server, addr(l.c1, f), 7000, { uid: 1002 }), `${f} uid 1002 -> c1`).toBe('c1:7000');
        expect(l.connect(l.c1, addr(l.server, f), 8000), `${f} service of uid 1001`).toBe('srv:8000');
        expect(l.connect(l.server, LOCAL[f], 8001, { uid: 1001 }), `${f} loopback`).toBe('srv:8001');
      }
    });
  });

  it('user outbound with drop: the connection times out instead of being refused', async () => {
    await scenario(backend, 'version: 1\nusers:\n  - { user: 1001, outbound: drop }\n', async (l) => {
      await l.serve(l.c1, ['tcp:7000']);
      for (const f of FAMILIES) {
        expect(l.connect(l.server, addr(l.c1, f), 7000, { uid: 1001, timeoutMs: 500 })).toBe('timeout');
        expect(l.connect(l.server, addr(l.c1, f), 7000)).toBe('c1:7000');
      }
    });
  });

  it('ports: under a drop policy only the opened tcp and udp ports answer', async () => {
    const policy = 'version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: 2222 }\n  - { proto: udp, port: 5353 }\n';
    await scenario(backend, policy, async (l) => {
      await l.serve(l.server, ['tcp:2222', 'tcp:2223', 'udp:5353', 'udp:5354']);
      for (const f of FAMILIES) {
        expect(l.connect(l.c1, addr(l.server, f), 2222), f).toBe('srv:2222');
        expect(l.connect(l.c1, addr(l.server, f), 2223, { timeoutMs: 400 }), f).toBe('timeout');
        expect(l.connect(l.c1, addr(l.server, f), 5353, { proto: 'udp' }), f).toBe('srv:5353');
        expect(l.connect(l.c1, addr(l.server, f), 5354, { proto: 'udp', timeoutMs: 400 }), f).toBe('timeout');
      }
    });
  });

  it('close-port per interface: tcp 3000 dropped on eth0, still reachable over loopback', async () => {
    const policy = 'version: 1\ninbound:\n  - { port: 3000, interface: eth0, action: drop }\n';
    await scenario(backend, policy, async (l) => {
      await l.serve(l.server, ['tcp:3000', 'tcp:3001']);
      for (const f of FAMILIES) {
        expect(l.connect(l.c1, addr(l.server, f), 3000, { timeoutMs: 400 }), f).toBe('timeout');
        expect(l.connect(l.c1, addr(l.server, f), 3001), f).toBe('srv:3001');
        expect(l.connect(l.server, LOCAL[f], 3000), f).toBe('srv:3000');
      }
    });
  });

  it('allowlist: the listed client connects and the other is refused, in both families', async () => {
    const policy = `version: 1\ninbound:\n  - { name: metrics, port: 6000, from: [${C1.ipv4}, "${C1.ipv6}"] }\n`;
    await scenario(backend, policy, async (l) => {
      await l.serve(l.server, ['tcp:6000', 'tcp:6001']);
      for (const f of FAMILIES) {
        expect(l.connect(l.c1, addr(l.server, f), 6000), f).toBe('srv:6000');
        expect(l.connect(l.c2, addr(l.server, f), 6000), f).toBe('refused');
        expect(l.connect(l.c2, addr(l.server, f), 6001), f).toBe('srv:6001');
      }
    });
  });

  it('allowlist listing only IPv4 sources leaves no IPv6 bypass', async () => {
    await scenario(backend, `version: 1\ninbound:\n  - { port: 6000, from: ${C1.ipv4} }\n`, async (l) => {
      await l.serve(l.server, ['tcp:6000']);
      expect(l.connect(l.c1, l.server.v4, 6000)).toBe('srv:6000');
      expect(l.connect(l.c1, l.server.v6, 6000)).toBe('refused');
    });
  });

  it('outbound block: new connections to the blocked host fail, others succeed', async () => {
    const policy = `version: 1\noutbound:\n  - { name: block-c2, to: [${C2.ipv4}, "${C2.ipv6}"], proto: tcp, action: deny }\n`;
    await scenario(backend, policy, async (l) => {
      await l.serve(l.c1, ['tcp:7000']);
      await l.serve(l.c2, ['tcp:7000']);
      for (const f of FAMILIES) {
        expect(l.connect(l.server, addr(l.c2, f), 7000), f).toBe('refused');
        expect(l.connect(l.server, addr(l.c1, f), 7000), f).toBe('c1:7000');
      }
    });
  });

  it('egress allowlist: only the listed destination and port are reachable', async () => {
    const policy = `version: 1\ndefaults: { output: reject }\noutbound:\n  - { name: db, to: [${C1.ipv4}, "${C1.ipv6}"], port: 7000 }\n`;
    await scenario(backend, policy, async (l) => {
      await l.serve(l.c1, ['tcp:7000', 'tcp:7001']);
      await l.serve(l.c2, ['tcp:7000']);
      for (const f of FAMILIES) {
        expect(l.connect(l.server, addr(l.c1, f), 7000), f).toBe('c1:7000');
        expect(l.connect(l.server, addr(l.c1, f), 7001), f).toBe('refused');
        expect(l.connect(l.server, addr(l.c2, f), 7000), f).toBe('refused');
      }
    });
  });

  it('redirect: a redirected connection meets the inbound rules of its target port, a deny and an allowlist alike', async () => {
    const redirect = 'redirects:\n  - { name: tls-alt, port: 8445, to-port: 8443, interface: eth0, local: false, hide-target: false }\n';
    const deny = `version: 1\ninbound:\n  - { name: block-c1, port: [8443, 8445], from: [${C1.ipv4}, "${C1.ipv6}"], action: deny }\n${redirect}`;
    await scenario(backend, deny, async (l) => {
      await l.serve(l.server, ['tcp:8443']);
      for (const f of FAMILIES) {
        expect(l.connect(l.c1, addr(l.server, f), 8445), `${f}: the denied client through the redirect`).toBe('refused');
        expect(l.connect(l.c2, addr(l.server, f), 8445), `${f}: another client through the redirect`).toBe('srv:8443');
      }
    });
    const allowlist = `version: 1\ninbound:\n  - { name: c2-only, port: 8443, from: [${C2.ipv4}, "${C2.ipv6}"] }\n${redirect}`;
    await scenario(backend, allowlist, async (l) => {
      await l.serve(l.server, ['tcp:8443']);
      for (const f of FAMILIES) {
        expect(l.connect(l.c1, addr(l.server, f), 8445), `${f}: an unlisted client through the redirect`).toBe('refused');
        expect(l.connect(l.c1, addr(l.server, f), 8443), `${f}: an unlisted client directly`).toBe('refused');
        expect(l.connect(l.c2, addr(l.server, f), 8445), `${f}: the listed client through the redirect`).toBe('srv:8443');
        expect(l.connect(l.c2, addr(l.server, f), 8443), `${f}: the listed client directly`).toBe('srv:8443');
      }
    });
  });

  it('redirect: remote and local clients reach the service through P, Q is hidden, other ports unchanged', async () => {
    const policy = 'version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: 8446 }\nredirects:\n  - { name: tls-alt, port: 8445, to-port: 8443, interface: eth0, local: true, hide-target: true }\n';
    await scenario(backend, policy, async (l) => {
      await l.serve(l.server, ['tcp:8443', 'tcp:8446']);
      for (const f of FAMILIES) {
        expect(l.connect(l.c1, addr(l.server, f), 8445), `${f} remote via P`).toBe('srv:8443');
        expect(l.connect(l.c1, addr(l.server, f), 8443), `${f} remote to Q`).toBe('refused');
        expect(l.connect(l.server, LOCAL[f], 8445), `${f} local via P`).toBe('srv:8443');
        expect(l.connect(l.server, LOCAL[f], 8443), `${f} local to Q`).toBe('refused');
        expect(l.connect(l.c1, addr(l.server, f), 8446), `${f} other port`).toBe('srv:8446');
      }
    });
  });

  it('marks: marked connections follow table 100 (via c2), unmarked ones the main table (via c1); apply.sh installs the routing once, however often it runs', async () => {
    const policy = `version: 1
marks:
  - { name: rdp, proto: tcp, port: 3389, to: [198.51.100.0/24, "2001:db8:ff::/64"], mark: 1, table: 100, via: [${C2.ipv4}, "${C2.ipv6}"] }
`;
    const artifacts = build(policy);
    await withLab(async (l) => {
      for (const c of [l.c1, l.c2]) {
        l.check(c.ns.exec(['ip', 'addr', 'add', '198.51.100.1/32', 'dev', 'lo']));
        l.check(c.ns.exec(['ip', '-6', 'addr', 'add', '2001:db8:ff::1/128', 'dev', 'lo']));
        await l.serve(c, ['tcp:3389', 'tcp:3390']);
      }
      l.check(l.server.ns.exec(['ip', 'route', 'add', '198.51.100.0/24', 'via', C1.ipv4]));
      l.check(l.server.ns.exec(['ip', '-6', 'route', 'add', '2001:db8:ff::/64', 'via', C1.ipv6]));
      for (let i = 0; i < 2; i++) l.apply(backend, artifacts);
      expect(l.server.ns.exec(['ip', '-4', 'rule', 'show']).stdout.match(/fwmark 0x1 lookup 100/g)).toHaveLength(1);
      expect(l.server.ns.exec(['ip', '-6', 'rule', 'show']).stdout.match(/fwmark 0x1 lookup 100/g)).toHaveLength(1);
      expect(l.connect(l.server, '198.51.100.1', 3389)).toBe('c2:3389');
      expect(l.connect(l.server, '198.51.100.1', 3390)).toBe('c1:3390');
      expect(l.connect(l.server, '2001:db8:ff::1', 3389)).toBe('c2:3389');
      expect(l.connect(l.server, '2001:db8:ff::1', 3390)).toBe('c1:3390');
    });
  });

  it('rate limit: a burst from one source is cut, a slow stream and other sources pass', async () => {
    const policy = 'version: 1\nlimits:\n  - { name: syn, port: 8080, rate: 2/second, burst: 2 }\n';
    await scenario(backend, policy, async (l) => {
      await l.serve(l.server, ['tcp:8080']);
      for (const f of FAMILIES) {
        const burst = l.connectMany(l.c1, addr(l.server, f), 8080, 8, 0, { timeoutMs: 250 });
        expect(burst.filter((x) => x === 'srv:8080').length, `${f} burst ${burst.join(',')}`).toBeGreaterThanOrEqual(2);
        expect(burst.filter((x) => x === 'timeout').length, `${f} burst ${burst.join(',')}`).toBeGreaterThanOrEqual(3);
        expect(l.connect(l.c2, addr(l.server, f), 8080), `${f} other source`).toBe('srv:8080');
      }
      await new Promise((r) => setTimeout(r, 1500));
      for (const f of FAMILIES) expect(l.connectMany(l.c1, addr(l.server, f), 8080, 3, 700), `${f} slow stream`).toEqual(['srv:8080', 'srv:8080', 'srv:8080']);
    });
  });

  it('IPv6 default drop keeps neighbour discovery working (and fails without the ICMPv6 essentials)', async () => {
    const base = 'version: 1\ndefaults: { input: drop, output: drop }\ninbound:\n  - { port: 8080 }\noutbound:\n  - { port: 7000 }\n';
    await scenario(backend, base, async (l) => {
      await l.serve(l.server, ['tcp:8080']);
      await l.serve(l.c1, ['tcp:7000']);
      expect(l.connect(l.c1, l.server.v6, 8080)).toBe('srv:8080');
      expect(l.connect(l.server, l.c1.v6, 7000)).toBe('c1:7000');
    });
    await scenario(backend, base.replace('output: drop }', 'output: drop, icmpv6-essentials: false }'), async (l) => {
      await l.serve(l.server, ['tcp:8080']);
      expect(l.connect(l.c1, l.server.v6, 8080, { timeoutMs: 1500 })).toBe('timeout');
      expect(l.connect(l.c1, l.server.v4, 8080)).toBe('srv:8080');
    });
  });

  it('logging: denied packets hit the LOG rule with the policy prefix', async () => {
    const policy = 'version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: 8080 }\nlogging: { prefix: "lab-drop: " }\n';
    await scenario(backend, policy, async (l) => {
      await l.serve(l.server, ['tcp:8080', 'tcp:8081']);
      for (const f of FAMILIES) {
        expect(l.connect(l.c1, addr(l.server, f), 8081, { timeoutMs: 300 })).toBe('timeout');
        const saved = l.server.ns.exec([`${f === 'ipv4' ? 'iptables' : 'ip6tables'}-${backend}-save`, '-c']).stdout;
        const logLine = saved.split('\n').find((x) => x.includes('--log-prefix "lab-drop: "'))!;
        expect(logLine, saved).toBeDefined();
        expect(Number(/^\[(\d+):/.exec(logLine)![1]), logLine).toBeGreaterThan(0);
      }
    });
  });

  it('logging: an allow with log counts accepted connections under the accept prefix, never under the drop one', async () => {
    const policy = 'version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: 8080, log: true }\nlogging: { prefix: "lab-drop: " }\n';
    await scenario(backend, policy, async (l) => {
      await l.serve(l.server, ['tcp:8080']);
      for (const f of FAMILIES) {
        expect(l.connect(l.c1, addr(l.server, f), 8080)).toBe('srv:8080');
        const saved = l.server.ns.exec([`${f === 'ipv4' ? 'iptables' : 'ip6tables'}-${backend}-save`, '-c']).stdout;
        const counted = (prefix: string) => saved.split('\n').filter((x) => x.includes(`--log-prefix "${prefix}"`)).reduce((n, x) => n + Number(/^\[(\d+):/.exec(x)![1]), 0);
        expect(counted('ipfence accept: '), saved).toBeGreaterThan(0);
        expect(counted('lab-drop: '), saved).toBe(0);
      }
    });
  });
});
