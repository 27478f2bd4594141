import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeSet, subtract, type Interval, type IntervalSet } from '../../src/values/intervals.js';

// Sets over 0..399, long enough (up to 80 intervals) that subtracting one reaches the
// remembered differences (32 intervals and more) as well as the plain merge.
const MAX = 399;
const set = fc
  .array(fc.tuple(fc.integer({ min: 0, max: MAX }), fc.integer({ min: 0, max: 6 })), { maxLength: 80 })
  .map((xs) => normalizeSet(xs.map(([lo, len]) => [BigInt(lo), BigInt(Math.min(MAX, lo + len))] as Interval)));

const points = (s: IntervalSet): Set<number> => {
  const out = new Set<number>();
  for (const [lo, hi] of s) for (let v = Number(lo); v <= Number(hi); v++) out.add(v);
  return out;
};
/** The reference: a minus b point by point, as normal intervals. */
const plain = (a: IntervalSet, b: IntervalSet): IntervalSet => {
  const gone = points(b);
  return normalizeSet([...points(a)].filter((v) => !gone.has(v)).map((v) => [BigInt(v), BigInt(v)] as Interval));
};

describe('interval subtraction', () => {
  it('agrees with subtracting point by point, asked once or again, with any other set in between', () => {
    fc.assert(
      fc.property(set, set, set, (a, b, c) => {
        const first = subtract(a, b);
        expect(first).toEqual(plain(a, b));
        expect(subtract(a, c)).toEqual(plain(a, c));
        expect(subtract(c, b)).toEqual(plain(c, b));
        expect(subtract(a, b)).toEqual(first);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same set again for the same long difference, not a copy (a walk asks it once per part)', () => {
    const any: IntervalSet = [[0n, (1n << 32n) - 1n]];
    const bans = normalizeSet(Array.from({ length: 1000 }, (_, i) => [BigInt(10 * i + 5), BigInt(10 * i + 5)] as Interval));
    const once = subtract(any, bans);
    expect(once.length).toBe(1001);
    expect(subtract(any, bans)).toBe(once);
    // An equal but separately made set of bans is another key: still the right answer.
    expect(subtract(any, bans.slice())).toEqual(once);
  });
});
