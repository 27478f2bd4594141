import { describe, expect, it } from 'vitest';
import { explainOwners } from '../../src/analysis/explain.js';
import { modelsOf } from '../../src/packet/path.js';
import { boxHas, DIM, pointOf } from '../../src/packet/space.js';
import { compile } from '../../src/pipeline.js';
import { kernelLab } from '../../src/verify/netns.js';
import { addr, withLab, type Family, type Host, type Lab } from '../helpers/lab.js';

/**
 * REDIRECT in nat PREROUTING sends a connection to the primary address of the interface it came
 * in by (nf_nat_redirect), not to the address it was sent to: a connection to a secondary
 * address of the server, or to another host routed through it, reaches the filter table with the
 * primary address as its destination, and an inbound rule restricted by destination decides it
 * by that. The server's eth0 gets a second address of each family; which of its two the kernel
 * takes as primary is read from the kernel (`ip addr` lists them in the order REDIRECT takes the
 * first of). Two inbound rules refuse the redirect's target port, one to the primary address
 * from the first client, one to the other address from the second: every redirected connection
 * of the first client is accepted, every one of the second refused, whatever it was sent to.
 * explain must give the kernel's answer in its case for that primary address, and say that the
 * answer depends on it where it does (the compiler cannot know which address is primary).
 */
const lab = kernelLab();
const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
/** The server's second address on eth0. */
const SECOND: Readonly<Record<Family, string>> = { ipv4: '192.0.2.7', ipv6: '2001:db8:99::7' };
/** An address of no host in the lab, which the clients route through the server. */
const FAR: Readonly<Record<Family, string>> = { ipv4: '198.51.100.3', ipv6: '2001:db8:5::3' };

/** The server's addresses of a family on eth0 in the kernel's order (global scope only, as REDIRECT takes for such a destination). */
function kernelOrder(l: Lab, f: Family): string[] {
  const r = l.server.ns.exec(['ip', '-j', f === 'ipv4' ? '-4' : '-6', 'addr', 'show', 'dev', 'eth0']);
  l.check(r, 'ip addr show');
  const info = (JSON.parse(r.stdout) as { addr_info: { local: string; scope: string }[] }[])[0]!.addr_info;
  return info.filter((a) => a.scope === 'global').map((a) => a.local);
}

function policy(primary: Record<Family, string>, other: Record<Family, string>, l: Lab, listed: boolean): string {
  const both = (a: Record<Family, string>): string => `[${a.ipv4}, "${a.ipv6}"]`;
  return `version: 1
${listed ? `host: { addresses: [${addr(l.server, 'ipv4')}, ${SECOND.ipv4}, "${addr(l.server, 'ipv6')}", "${SECOND.ipv6}"] }\n` : ''}defaults: { input: drop }
inbound:
  - { name: c1 not at the primary, port: 8443, from: ${both({ ipv4: addr(l.c1, 'ipv4'), ipv6: addr(l.c1, 'ipv6') })}, to: ${both(other)}, action: reject }
  - { name: c2 not at the primary, port: 8443, from: ${both({ ipv4: addr(l.c2, 'ipv4'), ipv6: addr(l.c2, 'ipv6') })}, to: ${both(primary)}, action: reject }
redirects:
  - { name: alt, port: 8445, to-port: 8443, interface: eth0, local: false, hide-target: false }
`;
}

describe.runIf(lab.ok)("a redirect in PREROUTING sends connections to the incoming interface's primary address, and explain says so", () => {
  it.each(lab.ok ? lab.backends : [])('%s back end, both families: to a secondary address, to the primary one, and routed through the server', async (backend) => {
    await withLab(async (l) => {
      await l.serve(l.server, ['tcp:8443', 'tcp:8445']);
      const run = (h: Host, argv: string[]): void => l.check(h.ns.exec(argv), argv.join(' '));
      for (const f of FAMILIES) {
        run(l.server, ['ip', 'addr', 'add', `${SECOND[f]}/${f === 'ipv4' ? 24 : 64}`, 'dev', 'eth0', ...(f === 'ipv6' ? ['nodad'] : [])]);
        for (const c of [l.c1, l.c2]) run(c, ['ip', f === 'ipv4' ? '-4' : '-6', 'route', 'add', FAR[f], 'via', addr(l.server, f)]);
      }
      const primary = {} as Record<Family, string>;
      const other = {} as Record<Family, string>;
      for (const f of FAMILIES) {
        const order = kernelOrder(l, f);
        expect([...order].sort(), f).toEqual([addr(l.server, f), SECOND[f]].sort());
        [primary[f], other[f]] = [order[0]!, order[1]!];
      }
      let compared = 0;
      for (const listed of [true, false]) {
        const r = compile(policy(primary, other, l, listed), 'redirect-primary.yaml');
        expect(r.diagnostics.filter((d) => d.severity === 'error'), JSON.stringify(r.diagnostics)).toEqual([]);
        l.load(backend, r.artifacts!);
        const probes = FAMILIES.flatMap((f) => [l.c1, l.c2].flatMap((client) => [other[f], primary[f], FAR[f]].map((to) => ({ f, client, to }))));
        // At once: the lab's time is one connection's, not two dozen.
        const answers = await Promise.all(probes.map((p) => l.connectManyAsync(p.client, p.to, 8445, 1, 0)));
        for (const [i, { f, client, to }] of probes.entries()) {
          const model = modelsOf(r.ir!).find((m) => m.family === f)!;
          const got = answers[i]![0]!;
          // The kernel: every redirected connection reaches port 8443 at the primary address.
          expect(got, `${backend} ${f} ${client.name} -> ${to}:8445`).toBe(client === l.c1 ? 'srv:8443' : 'refused');
          const packet = { src: addr(client, f), dst: to, proto: 6, sport: 40000, dport: 8445, in: 'eth0', state: 'NEW' } as const;
          const cases = explainOwners(model, 'in', packet)!;
          const at = pointOf(f, { ...packet, src: primary[f] })![DIM.src][0]![0];
          const mine = cases.filter((c) => c.primary === undefined || boxHas([c.primary], [at]));
          expect(mine, `${f} ${client.name} -> ${to}: one case holds the primary address`).toHaveLength(1);
          const verdict = mine[0]!.explanation.outcome.verdict;
          expect(verdict === 'accept' ? 'srv:8443' : verdict === 'reject' ? 'refused' : 'timeout', `${backend} ${f} explain ${client.name} -> ${to}:8445 (listed: ${listed})`).toBe(got);
          // The compiler cannot know which address is primary, so explain says it depends.
          expect(new Set(cases.map((c) => c.explanation.outcome.verdict)).size, `${f} ${client.name} -> ${to}: explain says it depends`).toBe(2);
          compared++;
        }
      }
      expect(compared).toBe(2 * 2 * 2 * 3);
    });
  }, 120_000);
});
