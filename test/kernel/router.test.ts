import { describe, expect, it } from 'vitest';
import { compileOrThrow } from '../helpers/compile.js';
import { kernelLab, withNetns } from '../../src/verify/netns.js';
import { compileText } from '../helpers/compile.js';
import { familyRecord } from '../../src/model/family.js';
import { HELPER_NAMES } from '../../src/model/helpers.js';
import { ROUTER_LAN, ROUTER_WAN, withRouterLab, type Family } from '../helpers/router-lab.js';

/**
 * Routers, proved with real traffic: a client outside, a router, a backend and an inside client
 * on its LAN. Each finding is paired with a control that differs only in the rule under test, so
 * a broken lab cannot pass as "translated" or "blocked". Every policy carries intent tests, which
 * must pass for it to compile: the model says what the kernel then does.
 */
const lab = kernelLab();
const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];

const ROUTER = `version: 1
host: { addresses: [${ROUTER_WAN.ipv4}, "${ROUTER_WAN.ipv6}", ${ROUTER_LAN.ipv4}, "${ROUTER_LAN.ipv6}"] }
interfaces: { wan: wan0, lan: lan0 }
defaults: { input: drop, forward: drop }
forward:
  - { name: lan out, in: lan, out: wan }
`;
const FORWARD = `forwards:
  - name: web
    port: 8080
    to: [10.1.0.10, "fd00:1::10"]
    to-port: 80
    interface: wan
    local-address: [${ROUTER_WAN.ipv4}, "${ROUTER_WAN.ipv6}"]
`;
const HAIRPIN = `    hairpin: { from: [10.1.0.0/24, "fd00:1::/64"], interface: lan }
`;
const MASQUERADE = `masquerade:
  - { name: lan, out: wan, from: [10.1.0.0/24, "fd00:1::/64"] }
`;
const TESTS = `tests:
  - { name: the forward answers, to: [${ROUTER_WAN.ipv4}, "${ROUTER_WAN.ipv6}"], port: 8080, interface: wan, expect: allow }
  - { name: the backend is not reached directly, direction: forward, to: [10.1.0.10, "fd00:1::10"], port: 80, in: wan, out: lan, expect: deny }
  - { name: the router's own port stays closed, to: [${ROUTER_WAN.ipv4}, "${ROUTER_WAN.ipv6}"], port: 80, interface: wan, expect: deny }
`;

describe.runIf(lab.ok).each(lab.ok ? lab.backends : [])('a router in the lab (%s back end)', (backend) => {
  it('masquerade: the outside sees the router; a port forward reaches the backend, but not its port directly; a hairpin lets inside clients use the public address', async () => {
    const without = compileOrThrow(ROUTER + FORWARD + TESTS, 'router.yaml');
    const withAll = compileOrThrow(ROUTER + FORWARD + HAIRPIN + MASQUERADE + TESTS, 'router.yaml');
    await withRouterLab(async (l) => {
      await l.servePeer(l.client, 7000);
      await l.serve(l.backend, ['tcp:80']);
      l.load(backend, without);
      for (const f of FAMILIES) {
        expect(l.connect(l.backend, l.client.addr[f], 7000), `${f} control: no masquerade`).toBe(l.backend.addr[f]);
        expect(l.connect(l.inside, ROUTER_WAN[f], 8080), `${f} control: no hairpin`).toBe('timeout');
      }
      l.load(backend, withAll);
      for (const f of FAMILIES) {
        expect(l.connect(l.backend, l.client.addr[f], 7000), `${f} masqueraded`).toBe(ROUTER_WAN[f]);
        expect(l.connect(l.client, ROUTER_WAN[f], 8080), `${f} forwarded`).toBe('be:80');
        expect(l.connect(l.client, l.backend.addr[f], 80), `${f} the translated port directly`).toBe('timeout');
        expect(l.connect(l.client, ROUTER_WAN[f], 80), `${f} the router's own port 80`).toBe('timeout');
        expect(l.connect(l.inside, ROUTER_WAN[f], 8080), `${f} hairpin`).toBe('be:80');
      }
    });
  });

  it('notrack: DNS answers and leaves no conntrack entry, while a tracked port does; NFLOG counts what it logs', async () => {
    const policy = `version: 1
defaults: { input: drop, output: drop }
inbound:
  - { name: dns, service: dns, log: { nflog: 7, prefix: "dns query: " } }
  - { name: other, proto: udp, port: 5353 }
notrack:
  - { name: dns, port: 53, to: [${ROUTER_WAN.ipv4}, "${ROUTER_WAN.ipv6}"] }
tests:
  - { name: dns is open, service: dns, expect: allow }
`;
    await withRouterLab(async (l) => {
      await l.serve(l.router, ['udp:53', 'udp:5353']);
      l.load(backend, compileOrThrow(policy, 'dns.yaml'));
      for (const f of FAMILIES) {
        l.router.ns.exec(['conntrack', '-F', '-f', f]);
        // Both answers come back under output: drop: the untracked one by its source port, the other as established.
        expect(l.connect(l.client, ROUTER_WAN[f], 53, 'udp'), `${f} dns`).toBe('rt:53');
        expect(l.connect(l.client, ROUTER_WAN[f], 5353, 'udp'), `${f} control: tracked`).toBe('rt:5353');
        const entries = (port: number) => l.router.ns.exec(['conntrack', '-L', '-f', f, '-p', 'udp', '--dport', String(port)]).stdout.trim().split('\n').filter((x) => x.includes(`dport=${port}`)).length;
        expect(entries(53), `${f} no entry for notracked dns`).toBe(0);
        expect(entries(5353), `${f} control: an entry for the tracked port`).toBeGreaterThan(0);
        expect(l.counter(backend, f, 'filter', 'IPFENCE-INPUT', 'dns', 'NFLOG'), `${f} the NFLOG rules logged the query`).toBe(1);
        expect(l.counter(backend, f, 'filter', 'IPFENCE-INPUT', 'dns', 'ACCEPT'), `${f} and it went on to the accept`).toBe(1);
      }
    });
  });

  it("a forward without local-address leaves a connection routed through the router to another host's port alone", async () => {
    const policy = `${ROUTER}  - { name: the inside app, in: wan, out: lan, to: [10.1.0.20, "fd00:1::20"], port: 8080 }
forwards:
  - { name: web, port: 8080, to: [10.1.0.10, "fd00:1::10"], to-port: 80, interface: wan }
tests:
  - { name: the forward answers, to: [${ROUTER_WAN.ipv4}, "${ROUTER_WAN.ipv6}"], port: 8080, interface: wan, expect: allow }
  - { name: the inside app is reached, direction: forward, to: [10.1.0.20, "fd00:1::20"], port: 8080, in: wan, out: lan, expect: allow }
`;
    await withRouterLab(async (l) => {
      await l.serve(l.backend, ['tcp:80']);
      await l.serve(l.inside, ['tcp:8080']);
      l.load(backend, compileOrThrow(policy, 'router.yaml'));
      for (const f of FAMILIES) {
        expect(l.connect(l.client, ROUTER_WAN[f], 8080), `${f} the forward`).toBe('be:80');
        expect(l.connect(l.client, l.inside.addr[f], 8080), `${f} through the router to the inside app`).toBe('ic:8080');
      }
    });
  });

  it("notrack: a blocked user sending from the service's port, and anyone sending from it to a denied host, are refused; the service still answers", async () => {
    const addrs = (n: Readonly<Record<Family, string>>) => `[${n.ipv4}, "${n.ipv6}"]`;
    const policy = `version: 1
host: { addresses: [${ROUTER_WAN.ipv4}, "${ROUTER_WAN.ipv6}", ${ROUTER_LAN.ipv4}, "${ROUTER_LAN.ipv6}"] }
defaults: { input: drop, output: drop }
users:
  - { name: blocked, user: 1000 }
outbound:
  - { name: not the client, action: deny, to: ${addrs({ ipv4: '203.0.113.2', ipv6: '2001:db8:1::2' })} }
inbound:
  - { name: statsd, proto: udp, port: 8125 }
  - { name: api, proto: tcp, port: 8080 }
notrack:
  - { name: statsd, port: 8125 }
  - { name: api, port: 8080, proto: tcp }
`;
    await withRouterLab(async (l) => {
      await l.serve(l.client, ['udp:7001', 'tcp:7000']);
      await l.serve(l.backend, ['udp:7001', 'tcp:7000']);
      l.load(backend, compileOrThrow(policy, 'notrack.yaml'));
      const r = l.router;
      for (const f of FAMILIES) {
        for (const [proto, sport, port] of [['udp', 8125, 7001], ['tcp', 8080, 7000]] as const) {
          // Control: from the service's port, a host no rule denies is reached (the replies' accept,
          // the answer's way back through the notrack and the inbound allow), so the refusals below
          // are the rules' and not the lab's. Before the fix, each of them reached its host.
          expect(l.connectFrom(r, l.backend.addr[f], port, proto, sport, 2000), `${f} ${proto} control: from the service's port to an allowed host`).toBe(`be:${port}`);
          expect(l.connectFrom(r, l.backend.addr[f], port, proto, sport + 1, 1000), `${f} ${proto} control: the blocked user from another port`).not.toBe(`be:${port}`);
          expect(l.connectFrom(r, l.backend.addr[f], port, proto, sport, 1000), `${f} ${proto} the blocked user from the service's port`).not.toBe(`be:${port}`);
          expect(l.connectFrom(r, l.client.addr[f], port, proto, sport, 1000), `${f} ${proto} the blocked user to the denied host`).not.toBe(`cl:${port}`);
          expect(l.connectFrom(r, l.client.addr[f], port, proto, sport, 2000), `${f} ${proto} anyone to the denied host`).not.toBe(`cl:${port}`);
        }
      }
      await l.serve(r, ['udp:8125', 'tcp:8080']);
      for (const f of FAMILIES) {
        expect(l.connect(l.inside, ROUTER_LAN[f], 8125, 'udp'), `${f} the notrack udp service answers`).toBe('rt:8125');
        expect(l.connect(l.inside, ROUTER_LAN[f], 8080, 'tcp'), `${f} the notrack tcp service answers`).toBe('rt:8080');
      }
    });
  });

  it('a conntrack helper: passive FTP gets its data connection only with the ftp helper', async () => {
    const base = `version: 1
defaults: { input: drop }
inbound:
  - { name: ftp, service: ftp }
tests:
  - { name: no data port is open by itself, port: 50021, expect: deny }
`;
    await withRouterLab(async (l) => {
      await l.serveFtp(l.router);
      l.load(backend, compileOrThrow(base, 'ftp.yaml'));
      for (const f of FAMILIES) expect(l.ftp(l.client, ROUTER_WAN[f]), `${f} control: no helper`).toBe('timeout');
      l.load(backend, compileOrThrow(`${base}helpers:\n  - { name: ftp, helper: ftp }\n`, 'ftp.yaml'));
      for (const f of FAMILIES) expect(l.ftp(l.client, ROUTER_WAN[f]), `${f} with the helper`).toBe('data');
    });
  });

  it("a router's ftp helper watches only connections to the router: a LAN client's PORT command does not open its port 22 to an internet server", async () => {
    // examples/router.yaml's helper, on a gateway whose FORWARD drops what is not written. No
    // masquerade: the lab's kernel has no nf_nat_ftp to rewrite the PORT command, and with one the
    // hole is the same (the expectation is then DNATed to the client's port).
    const policy = `${ROUTER}helpers:
  - { name: ftp, helper: ftp, interface: lan }
tests:
  - { name: the inside client's ssh is closed from outside, direction: forward, to: [10.1.0.20, "fd00:1::20"], port: 22, in: wan, out: lan, expect: deny }
`;
    await withRouterLab(async (l) => {
      await l.serveFtpActive(l.client);
      await l.serve(l.inside, ['tcp:22']);
      l.load(backend, compileOrThrow(ROUTER, 'router.yaml'));
      for (const f of FAMILIES) expect(l.ftpActive(l.inside, l.client.addr[f], 22), `${f} control: no helper, no data connection`).toBe('timeout');
      // Control: a helper written for connections through the router does open the port, as documented.
      l.load(backend, compileOrThrow(`${ROUTER}helpers:\n  - { name: ftp, helper: ftp, interface: lan, to: [0.0.0.0/0, "::/0"] }\n`, 'router.yaml'));
      for (const f of FAMILIES) expect(l.ftpActive(l.inside, l.client.addr[f], 22), `${f} control: a helper on forwarded connections`).toBe('ic:22');
      l.load(backend, compileOrThrow(policy, 'router.yaml'));
      for (const f of FAMILIES) expect(l.ftpActive(l.inside, l.client.addr[f], 22), `${f} the default helper`).toBe('timeout');
      // And it still does its job: the router's own FTP server gets its data connections from the LAN.
      await l.serveFtp(l.router);
      l.load(backend, compileOrThrow(`${policy}inbound:\n  - { name: ftp, service: ftp, interface: lan }\n`, 'router.yaml'));
      for (const f of FAMILIES) expect(l.ftp(l.inside, ROUTER_LAN[f]), `${f} the router's own ftp`).toBe('data');
    });
  });

  it('MLD: a listener query from the link (hop limit 1) is accepted under an IPv6 drop policy, one from further away is not', async () => {
    await withRouterLab(async (l) => {
      l.load(backend, compileOrThrow('version: 1\ndefaults: { input: drop }\n', 'mld.yaml'));
      const accepted = () => l.counter(backend, 'ipv6', 'filter', 'IPFENCE-INPUT', 'ipfence: mld-listener-query');
      l.mldQuery(2);
      expect(accepted(), 'control: hop limit 2').toBe(0);
      l.mldQuery(1);
      expect(accepted(), 'hop limit 1').toBe(1);
    });
  });

  it("a mark's table gets its extra routes from apply.sh, and a later policy without them removes them", async () => {
    const policy = (routes: string) => `version: 1
interfaces: { lan: lan0 }
marks:
  - { name: vpn, mark: 2, from: 10.1.0.128/25, traffic: incoming, table: 100, via: 10.1.0.254${routes} }
`;
    await withRouterLab(async (l) => {
      const first = l.apply(backend, compileOrThrow(policy(', routes: [{ to: 10.8.0.0/24, dev: lan }, { to: 10.9.0.1, via: 10.1.0.253 }]'), 'vpn.yaml'));
      l.check(first, `apply.sh\n${first.stdout}`);
      const table = () => l.router.ns.exec(['ip', '-4', 'route', 'show', 'table', '100']).stdout;
      expect(table()).toContain('default via 10.1.0.254');
      expect(table()).toContain('10.8.0.0/24 dev lan0');
      expect(table()).toContain('10.9.0.1 via 10.1.0.253');
      const second = l.apply(backend, compileOrThrow(policy(''), 'vpn.yaml'));
      l.check(second, `apply.sh\n${second.stdout}`);
      expect(table()).toContain('default via 10.1.0.254');
      expect(table()).not.toContain('10.8.0.0/24');
      expect(table()).not.toContain('10.9.0.1');
    });
  });
});

describe.runIf(lab.ok).each(lab.ok ? lab.backends : [])('conntrack helpers in the kernel (%s back end)', (backend) => {
  it('every helper, protocol and family that compiles loads, and every one the compile refuses the kernel refuses too', async () => {
    await withNetns((ns) => {
      const disagree: string[] = [];
      for (const helper of HELPER_NAMES) {
        // As most policies write it: the helper's own protocol, the families left open.
        const plain = compileText(`version: 1\nhelpers:\n  - { helper: ${helper}, direction: both }\n`);
        if (!plain.artifacts) disagree.push(`${helper}: refused: ${plain.report}`);
        for (const a of plain.artifacts?.filter((x) => x.family) ?? []) {
          const loaded = ns.restore(backend, a.family!, a.content);
          if (loaded.status !== 0) disagree.push(`${helper} ${a.family}: compiles, and the kernel refuses it: ${loaded.stderr.trim()}`);
        }
        for (const proto of ['tcp', 'udp', 'sctp'] as const) {
          for (const family of FAMILIES) {
            const r = compileText(`version: 1\nhelpers:\n  - { helper: ${helper}, proto: ${proto}, family: ${family}, direction: both }\n`);
            const file = r.artifacts?.find((a) => a.family === family);
            if (file) {
              const loaded = ns.restore(backend, family, file.content);
              if (loaded.status !== 0) disagree.push(`${helper} ${proto} ${family}: compiles, and the kernel refuses it: ${loaded.stderr.trim()}`);
              continue;
            }
            if (!r.diagnostics.some((d) => d.code === 'helper-unsupported')) disagree.push(`${helper} ${proto} ${family}: refused for another reason: ${r.report}`);
            const rule = `*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p ${proto} -m ${proto} --dport 1 -j CT --helper ${helper}\nCOMMIT\n`;
            if (ns.restore(backend, family, rule).status === 0) disagree.push(`${helper} ${proto} ${family}: refused, and the kernel loads it (${familyRecord(family).restoreCommand})`);
          }
        }
      }
      expect(disagree).toEqual([]);
    });
  });
});
