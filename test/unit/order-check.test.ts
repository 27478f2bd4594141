import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Family, PortRange, Proto } from '../../src/model/ir.js';
import { readAddress, type Cidr } from '../../src/values/addresses.js';
import { findConflicts } from '../../src/analysis/order-sweep.js';
import { boxesIntersect, boxHas, DIMS, everything, type Box } from '../../src/packet/space.js';
import { boxOf } from '../../src/packet/space.js';
import { compile } from '../../src/pipeline.js';
import { expand, selectorBoxes, type Selector } from '../../src/normalize/selector.js';

const cidr = (text: string): Cidr => {
  const r = readAddress(text);
  if (typeof r === 'string') throw new Error(r);
  return r;
};

// Small pools, so that random rules often share ports, hosts and networks.
const HOSTS = ['10.0.0.1', '10.0.0.2', '10.0.1.1', '2001:db8::1', '2001:db8::2', '2001:db8:1::1'].map(cidr);
// Nested, disjoint and one-bit-apart networks: the source index must find each overlap.
const NETS = ['10.0.0.0/24', '10.0.0.0/25', '10.0.0.128/25', '10.0.0.0/23', '10.0.0.0/8', '0.0.0.0/0', '2001:db8::/64', '2001:db8::/63', '2001:db8::/32', '::/0'].map(cidr);
const PORT_RANGES: PortRange[] = [{ lo: 22, hi: 22 }, { lo: 80, hi: 80 }, { lo: 443, hi: 443 }, { lo: 20, hi: 25 }, { lo: 1024, hi: 65535 }, { lo: 60, hi: 130 }];

const arbAddrs = fc.option(fc.uniqueArray(fc.constantFrom(...HOSTS, ...HOSTS, ...NETS), { minLength: 1, maxLength: 3 }), { nil: null });
const arbSelector: fc.Arbitrary<Selector> = fc
  .record({
    protos: fc.option(fc.uniqueArray(fc.constantFrom<Proto>('tcp', 'udp', 'icmp'), { minLength: 1, maxLength: 2 }), { nil: null }),
    ports: fc.option(fc.uniqueArray(fc.constantFrom(...PORT_RANGES), { minLength: 1, maxLength: 2 }), { nil: null }),
    src: arbAddrs,
    dst: arbAddrs,
    inIface: fc.constantFrom(null, 'eth0', 'eth+'),
    srcExcept: fc.constantFrom([], [HOSTS[0]!], [NETS[0]!]),
    families: fc.constantFrom<readonly Family[]>(['ipv4', 'ipv6'], ['ipv4'], ['ipv6']),
  })
  .map((r) => ({ ...r, icmpType: null, outIface: null, dstExcept: [] }));

const arbEntries = fc.array(fc.record({ sel: arbSelector, verdict: fc.constantFrom('accept' as const, 'drop' as const, 'reject' as const) }), { maxLength: 60 });

type Entry = { sel: Selector; verdict: 'accept' | 'drop' | 'reject' };
const swept = (entries: readonly Entry[]) => findConflicts(entries.map((e) => ({ boxes: selectorBoxes(e.sel), verdict: e.verdict })));
const shareFamilies = (a: Selector, b: Selector): Family[] => {
  const x = selectorBoxes(a);
  const y = selectorBoxes(b);
  return (['ipv4', 'ipv6'] as const).filter((f) => (x[f] ?? []).some((p) => (y[f] ?? []).some((q) => boxesIntersect(p, q))));
};

/** The definition: each allow against every deny written before it, in order. */
function naive(entries: readonly Entry[]) {
  const out: { allow: number; deny: number; families: Family[] }[] = [];
  entries.forEach((allow, j) => {
    if (allow.verdict !== 'accept') return;
    for (let i = 0; i < j; i++) {
      if (entries[i]!.verdict === 'accept') continue;
      const families = shareFamilies(entries[i]!.sel, allow.sel);
      if (families.length > 0) {
        out.push({ allow: j, deny: i, families });
        return;
      }
    }
  });
  return out;
}

describe('order check (allow-first)', () => {
  it('finds exactly the conflicts of comparing every allow with every earlier deny', () => {
    fc.assert(
      fc.property(arbEntries, (entries) => {
        expect(swept(entries)).toEqual(naive(entries));
      }),
      { numRuns: 5000 },
    );
  });

  it('names the earliest overlapping deny even when a later one shares the port', () => {
    const sel = (ports: PortRange[] | null, src: Cidr[] | null): Selector => ({
      protos: ['tcp'], ports, icmpType: null, src, dst: null, inIface: null, outIface: null, srcExcept: [], dstExcept: [], families: ['ipv4', 'ipv6'],
    });
    const entries = [
      { sel: sel(null, [NETS[1]!]), verdict: 'drop' as const }, // any port, network source: indexed under neither
      { sel: sel([{ lo: 22, hi: 22 }], [HOSTS[0]!]), verdict: 'drop' as const },
      { sel: sel([{ lo: 22, hi: 22 }], [HOSTS[0]!]), verdict: 'accept' as const },
    ];
    expect(swept(entries)).toEqual([{ allow: 2, deny: 0, families: ['ipv4'] }]);
  });

  it.each(['src', 'dst'] as const)('finds a deny inside an allow\'s %s network, whether written before or after the first allow of that size', (dir) => {
    const sel = (net: string): Selector => ({
      protos: null, ports: null, icmpType: null, src: null, dst: null, [dir]: [cidr(net)], inIface: null, outIface: null, srcExcept: [], dstExcept: [], families: ['ipv4', 'ipv6'],
    });
    const entries = [
      { sel: sel('10.0.1.0/25'), verdict: 'drop' as const },
      { sel: sel('192.0.2.0/24'), verdict: 'accept' as const }, // no overlap; makes the index build its /24 level
      { sel: sel('10.0.0.128/25'), verdict: 'drop' as const }, // filed into that level afterwards
      { sel: sel('10.0.0.0/24'), verdict: 'accept' as const },
      { sel: sel('10.0.1.0/24'), verdict: 'accept' as const },
    ];
    expect(swept(entries)).toEqual([
      { allow: 3, deny: 2, families: ['ipv4'] },
      { allow: 4, deny: 0, families: ['ipv4'] },
    ]);
  });
});

/**
 * A selector's boxes are the packet model of what its emitted rules match: for concrete packets,
 * inside them exactly when some rule of its expansion matches and no exception does.
 */
describe('selectorBoxes', () => {
  const ADDR_POINTS: Record<Family, bigint[]> = {
    ipv4: ['10.0.0.1', '10.0.0.2', '10.0.0.130', '10.0.1.1', '10.200.0.1', '192.0.2.1'].map((a) => cidr(a).interval[0]),
    ipv6: ['2001:db8::1', '2001:db8::2', '2001:db8:1::1', '2001:db8:2::9', '2001:dead::1'].map((a) => cidr(a).interval[0]),
  };
  const point = (f: Family) =>
    fc.record({ src: fc.constantFrom(...ADDR_POINTS[f]), dst: fc.constantFrom(...ADDR_POINTS[f]), proto: fc.constantFrom(6n, 17n, f === 'ipv4' ? 1n : 58n, 132n), dport: fc.constantFrom(22n, 25n, 80n, 100n, 443n, 2000n) }).map((p) => {
      const u = everything(f);
      return DIMS.map((d, i) => (d === 'src' || d === 'dst' || d === 'proto' || d === 'dport' ? p[d] : u[i]![0]![0]));
    });
  for (const f of ['ipv4', 'ipv6'] as const) {
    it(`holds a packet of ${f} exactly when a rule of the expansion matches it and no exception does`, () => {
      let inside = 0;
      fc.assert(
        fc.property(arbSelector.filter((s) => s.families.includes(f)), fc.array(point(f), { minLength: 20, maxLength: 20 }), (sel, points) => {
          const boxes = selectorBoxes(sel)[f] ?? [];
          const rules: Box[] = expand(sel, f).map((m) => boxOf(m, f).box);
          const excepted = sel.srcExcept.filter((c) => c.family === f);
          for (const p of points) {
            const truth = rules.some((b) => boxHas(b, p)) && !excepted.some((c) => c.interval[0] <= p[0]! && p[0]! <= c.interval[1]);
            expect(boxes.some((b) => boxHas(b, p))).toBe(truth);
            if (truth) inside++;
          }
        }),
        { numRuns: 800 },
      );
      // Guards against a generator whose points all miss (about 250 of 16,000 land inside; 176 was seen).
      expect(inside).toBeGreaterThan(100);
    });
  }
});

describe('ICMP names that share packets', () => {
  it('an allow of fragmentation-needed after a drop of destination-unreachable is an order conflict (one code of that type)', () => {
    const r = compile('version: 1\ninbound:\n  - { name: unreachable, proto: icmp, icmp-type: destination-unreachable, action: drop }\n  - { name: frag, proto: icmp, icmp-type: fragmentation-needed }\n', 'policy.yaml');
    expect(r.diagnostics.map((d) => [d.code, d.line, d.col])).toEqual([['order-conflict', 4, 5]]);
    const apart = compile('version: 1\ninbound:\n  - { proto: icmp, icmp-type: echo-request, action: drop }\n  - { proto: icmp, icmp-type: fragmentation-needed }\n', 'policy.yaml');
    expect(apart.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });
});
