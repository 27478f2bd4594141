import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boxFrom, coveredBy, subtractBox, type Box } from '../../src/packet/space.js';
import { normalizeSet, type Interval } from '../../src/values/intervals.js';

// Small 3-dimensional boxes over 0..7, checked against enumerating every point.
const dim = fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 3 })).map(([lo, len]) => normalizeSet([[BigInt(lo), BigInt(Math.min(7, lo + len))] as Interval]));
const box = fc.tuple(dim, dim, dim).map((sets) => boxFrom(sets));
const inBox = (b: Box, p: readonly bigint[]): boolean => b.every((d, i) => d.some(([lo, hi]) => lo <= p[i]! && p[i]! <= hi));
const points = (): bigint[][] => {
  const out: bigint[][] = [];
  for (let x = 0n; x < 8n; x++) for (let y = 0n; y < 8n; y++) for (let z = 0n; z < 8n; z++) out.push([x, y, z]);
  return out;
};

describe('box set reasoning', () => {
  it('coveredBy agrees with enumerating every point', () => {
    fc.assert(fc.property(box, fc.array(box, { maxLength: 6 }), (b, covers) => {
      const truth = points().filter((p) => inBox(b, p)).every((p) => covers.some((c) => inBox(c, p)));
      expect(coveredBy(b, covers)).toBe(truth);
    }), { numRuns: 1500 });
  });
  it('subtractBox yields exactly the points of a outside b, in disjoint boxes', () => {
    fc.assert(fc.property(box, box, (a, b) => {
      const parts = subtractBox(a, b);
      for (const p of points()) {
        const count = parts.filter((x) => inBox(x, p)).length;
        expect(count).toBe(inBox(a, p) && !inBox(b, p) ? 1 : 0);
      }
    }), { numRuns: 500 });
  });
});
