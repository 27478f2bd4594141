import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntervalIndex } from '../../src/packet/index/interval-index.js';
import { normalizeSet, intersect, type Interval } from '../../src/values/intervals.js';
import { Run, type Member } from '../../src/packet/run.js';
import { boxesIntersect, boxOf, DIM, intersectBox, type Box } from '../../src/packet/space.js';
import type { Match, PortRange } from '../../src/model/ir.js';

const interval = fc.tuple(fc.integer({ min: 0, max: 300 }), fc.constantFrom(0, 1, 5, 40, 400)).map(([lo, w]): [bigint, bigint] => [BigInt(lo), BigInt(lo + w)]);

describe('IntervalIndex', () => {
  it('finds exactly the intervals meeting a query, added in any order, nested or not', () => {
    let found = 0;
    fc.assert(
      fc.property(fc.array(interval, { maxLength: 80 }), fc.array(interval, { minLength: 1, maxLength: 10 }), (items, queries) => {
        const index = new IntervalIndex();
        items.forEach(([lo, hi], i) => index.add(lo, hi, i));
        expect(index.size).toBe(items.length);
        for (const [lo, hi] of queries) {
          const got: number[] = [];
          index.meeting(lo, hi, (i) => got.push(i));
          const want = items.flatMap(([a, b], i) => (a <= hi && b >= lo ? [i] : []));
          expect(got.sort((a, b) => a - b)).toEqual(want);
          found += want.length;
        }
      }),
      { numRuns: 600 },
    );
    expect(found).toBeGreaterThan(2500);
  });
});

/** Members alike but for their ports (a rule's port list in chunks, several rules of one port list), keys from a few rules. */
const member = fc.tuple(fc.array(fc.tuple(fc.integer({ min: 1, max: 300 }), fc.constantFrom(0, 0, 2, 30)), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 3 })).map(([rs, key]) => {
  const ports: PortRange[] = normalizeSet(rs.map(([lo, w]): Interval => [BigInt(lo), BigInt(Math.min(65535, lo + w))])).map(([lo, hi]) => ({ lo: Number(lo), hi: Number(hi) }));
  const matches: Match[] = [{ kind: 'src', cidr: '10.0.0.0/8' }, { kind: 'dports', proto: 'tcp', ports }];
  return { box: boxOf(matches, 'ipv4').box, key };
});
const query = fc.tuple(fc.integer({ min: 1, max: 300 }), fc.constantFrom(0, 3, 50), fc.constantFrom('10.1.2.3/32', '10.0.0.0/8', '192.0.2.1/32')).map(([lo, w, cidr]) =>
  boxOf([{ kind: 'src', cidr }, { kind: 'dports', proto: 'tcp', ports: [{ lo, hi: lo + w }] }], 'ipv4').box,
);

describe('Run', () => {
  it("answers which members meet a box, and the box's part the other rules' members match, as filtering every member does", () => {
    let met = 0;
    let withoutOwn = 0;
    fc.assert(
      fc.property(fc.array(member, { minLength: 1, maxLength: 40 }), fc.array(query, { minLength: 1, maxLength: 6 }), (ms, queries) => {
        const members: Member<number>[] = ms.map((m, i) => ({ rule: i, box: m.box, key: m.key }));
        const run = new Run(members[0]!, 'accept');
        for (const m of members.slice(1)) expect(run.join(m, 'accept')).toBe(true);
        for (const q of queries) {
          const want = members.filter((m) => boxesIntersect(m.box, q));
          expect(run.meeting(q).map((m) => m.rule)).toEqual(want.map((m) => m.rule));
          met += want.length;
          for (const key of [0, 1, 2, 3, 'other']) {
            const others = members.filter((m) => m.key !== key);
            const parts = others.map((m) => intersectBox(m.box, q)).filter((b): b is Box => b !== null);
            const raw = run.clippedWithout(key, q);
            // Beyond the query it may hold more (the run's whole box, when the key has no member).
            const got = raw === null ? null : intersectBox(raw, q);
            if (parts.length === 0) expect(got).toBeNull();
            else {
              // Alike but for ports: the part is the query with the union of their ports.
              const expected = parts[0]!.slice();
              expected[DIM.dport] = normalizeSet(parts.flatMap((p) => p[DIM.dport]));
              expect(got).toEqual(expected);
              expect(got![DIM.dport]).toEqual(normalizeSet(others.flatMap((m) => intersect(m.box[DIM.dport], q[DIM.dport]))));
              if (others.length < members.length) withoutOwn++;
            }
          }
        }
      }),
      { numRuns: 500 },
    );
    expect(met).toBeGreaterThan(700);
    expect(withoutOwn).toBeGreaterThan(1000);
  });
});
