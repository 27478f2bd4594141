import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoxIndex } from '../../src/packet/index/box-index.js';
import { boxesIntersect, boxOf, mapBox, type Box } from '../../src/packet/space.js';
import { intersect } from '../../src/values/intervals.js';
import type { Family, Match, PortRange } from '../../src/model/ir.js';
import { alignedBlocks } from '../../src/values/addresses.js';

// Small pools, so that random rules often share ports and nest or neighbour each other's networks.
const ADDRS: Record<Family, string[]> = {
  ipv4: ['10.0.0.1/32', '10.0.0.2/32', '10.0.1.1/32', '10.0.0.0/24', '10.0.0.0/25', '10.0.0.128/25', '10.0.0.0/23', '10.0.0.0/8', '0.0.0.0/0'],
  ipv6: ['2001:db8::1/128', '2001:db8::2/128', '2001:db8::/64', '2001:db8::/63', '2001:db8::/32', '::/0'],
};
// Ranges too large to list port by port (indexed by blocks of 256), nesting, overlapping, touching.
const PORTS: PortRange[][] = [[{ lo: 22, hi: 22 }], [{ lo: 80, hi: 80 }], [{ lo: 80, hi: 80 }, { lo: 443, hi: 443 }], [{ lo: 20, hi: 25 }], [{ lo: 1024, hi: 65535 }], [{ lo: 100, hi: 400 }], [{ lo: 300, hi: 1000 }], [{ lo: 1000, hi: 1100 }], [{ lo: 512, hi: 767 }], [{ lo: 443, hi: 443 }, { lo: 768, hi: 900 }]];

function arbRule(f: Family): fc.Arbitrary<Match[]> {
  const addr = (kind: 'src' | 'dst') =>
    fc.option(fc.record({ cidr: fc.constantFrom(...ADDRS[f]), negate: fc.boolean() }).map(({ cidr, negate }): Match => ({ kind, cidr, negate })), { nil: undefined });
  const ports = fc.option(fc.constantFrom(...PORTS).map((p): Match => ({ kind: 'dports', proto: 'tcp', ports: p })), { nil: undefined });
  const iface = fc.option(fc.constantFrom('eth0', 'eth+').map((i): Match => ({ kind: 'in', iface: i })), { nil: undefined });
  return fc.tuple(addr('src'), addr('dst'), ports, iface).map((ms) => ms.filter((m): m is Match => m !== undefined));
}

describe('BoxIndex (candidates for shadowed)', () => {
  for (const f of ['ipv4', 'ipv6'] as const) {
    it(`returns, in ${f}, every earlier box that meets the new one, in chain order`, () => {
      let compared = 0;
      fc.assert(
        fc.property(fc.array(arbRule(f), { maxLength: 40 }), (rules) => {
          const boxes = rules.map((ms) => boxOf(ms, f).box);
          const index = new BoxIndex<{ box: Box; at: number }>(f);
          boxes.forEach((box, at) => {
            const got = index.candidates(index.keysOf(box)).map((e) => e.at);
            const meeting = boxes.slice(0, at).flatMap((b, i) => (boxesIntersect(b, box) ? [i] : []));
            expect(got).toEqual([...got].sort((a, b) => a - b));
            expect(new Set(got).size).toBe(got.length);
            for (const i of meeting) expect(got).toContain(i);
            compared += meeting.length;
            index.add({ box, at }, index.keysOf(box));
          });
        }),
        { numRuns: 1500 },
      );
      // Not vacuous: many boxes did meet earlier ones.
      expect(compared).toBeGreaterThan(3000);
    });
  }

  it('returns every earlier box that meets the new one when only ports narrow them (lists and ranges of any size)', () => {
    // Random sets over ports 1-2,000: single ports, short ranges, ranges too long to list (by
    // blocks of 256) and ones over more blocks than are indexed (any port).
    const range = fc.tuple(fc.integer({ min: 1, max: 2000 }), fc.constantFrom(0, 3, 40, 70, 300, 20000)).map(([lo, w]): PortRange => ({ lo, hi: Math.min(65535, lo + w) }));
    const ports = fc.array(range, { minLength: 1, maxLength: 4 }).map((rs): Match => ({ kind: 'dports', proto: 'tcp', ports: rs }));
    let compared = 0;
    let narrowed = 0;
    fc.assert(
      fc.property(fc.array(ports, { minLength: 20, maxLength: 60 }), (rules) => {
        const boxes = rules.map((m) => boxOf([m], 'ipv4').box);
        const index = new BoxIndex<{ at: number }>('ipv4');
        boxes.forEach((box, at) => {
          const got = index.candidates(index.keysOf(box)).map((e) => e.at);
          const meeting = boxes.slice(0, at).flatMap((b, i) => (boxesIntersect(b, box) ? [i] : []));
          for (const i of meeting) expect(got).toContain(i);
          compared += meeting.length;
          if (got.length < at) narrowed++;
          index.add({ at }, index.keysOf(box));
        });
      }),
      { numRuns: 400 },
    );
    // Not vacuous: boxes met, and the index left some out.
    expect(compared).toBeGreaterThan(3000);
    expect(narrowed).toBeGreaterThan(3000);
  });

  it('narrows a chain of overlapping port ranges to the ranges near each', () => {
    const index = new BoxIndex<{ at: number }>('ipv4');
    const box = (i: number) => boxOf([{ kind: 'dports', proto: 'tcp', ports: [{ lo: 1000 + 7 * i, hi: 1100 + 7 * i }] }], 'ipv4').box;
    for (let i = 0; i < 2000; i++) index.add({ at: i }, index.keysOf(box(i)));
    // Those within a block or two of 256 ports: about 80, not all 2,000.
    expect(index.candidates(index.keysOf(box(1000))).length).toBeLessThan(200);
  });

  it('narrows a long chain of one port by source host', () => {
    const index = new BoxIndex<{ box: Box }>('ipv4');
    const box = (host: number) => boxOf([{ kind: 'src', cidr: `10.0.${host >> 8}.${host & 255}/32` }, { kind: 'dports', proto: 'tcp', ports: [{ lo: 443, hi: 443 }] }], 'ipv4').box;
    for (let h = 0; h < 1000; h++) index.add({ box: box(h) }, index.keysOf(box(h)));
    expect(index.candidates(index.keysOf(box(7)))).toHaveLength(1);
  });
});

describe('boxOf', () => {
  // Matches that restrict the same dimension twice (two sources, a protocol and a port match,
  // interfaces of one prefix), so that both the first restriction and the intersection run.
  const extra = (f: Family): fc.Arbitrary<Match> =>
    fc.oneof(
      fc.constantFrom(...ADDRS[f]).map((cidr): Match => ({ kind: 'src', cidr })),
      fc.constantFrom<Match>({ kind: 'proto', proto: 'tcp' }, { kind: 'proto', proto: 'udp' }, { kind: 'in', iface: 'eth0' }, { kind: 'in', iface: 'eth+' }),
      fc.constantFrom<Match>({ kind: 'ctstate', states: ['NEW'], negate: false }, { kind: 'ctstate', states: ['ESTABLISHED', 'RELATED'], negate: true }),
    );
  for (const f of ['ipv4', 'ipv6'] as const) {
    it(`is, in ${f}, the intersection of the boxes of its matches one by one`, () => {
      const boxOfMatches = (ms: readonly Match[]) => boxOf(ms, f).box;
      let twice = 0;
      fc.assert(
        fc.property(arbRule(f), fc.array(extra(f), { maxLength: 3 }), (base, more) => {
          const ms = [...base, ...more];
          const expected = ms.map((m) => boxOfMatches([m])).reduce((acc, b) => mapBox(acc, (d, i) => intersect(d, b[i]!)), boxOfMatches([]));
          expect(boxOfMatches(ms)).toEqual(expected);
          if (new Set(ms.map((m) => (m.kind === 'dports' ? 'proto' : m.kind))).size < ms.length) twice++;
        }),
        { numRuns: 1500 },
      );
      // Not vacuous: many rules restricted one dimension twice.
      expect(twice).toBeGreaterThan(300);
    });
  }
});

describe('alignedBlocks', () => {
  it('covers exactly [lo, hi] with the fewest aligned blocks', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 255n }), fc.bigInt({ min: 0n, max: 255n }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const blocks = alignedBlocks(lo, hi, 8n)!;
        let next = lo;
        for (const [first, prefix] of blocks) {
          const size = 1n << BigInt(8 - prefix);
          expect(first).toBe(next);
          expect(first % size).toBe(0n);
          // Fewest: no block could have been doubled within the range.
          expect(first % (size * 2n) === 0n && first + size * 2n - 1n <= hi && prefix > 0).toBe(false);
          next = first + size;
        }
        expect(next).toBe(hi + 1n);
        expect(alignedBlocks(lo, hi, 8n, blocks.length - 1)).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });
});
