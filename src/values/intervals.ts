/**
 * Sorted, disjoint, inclusive intervals: the one representation behind every dimension of the
 * packet model, so containment, overlap and difference are exact (no sampling, no per-value
 * loops). The operations are output-sensitive: a short set against a long one (a rule's one
 * source against the thousands a run of bans has merged) costs a binary search per interval of
 * the short one, not a walk of the long one.
 */
export type Interval = readonly [bigint, bigint];
export type IntervalSet = readonly Interval[];

export function normalizeSet(items: readonly Interval[]): IntervalSet {
  const sorted = [...items].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1n) {
      if (hi > last[1]) last[1] = hi;
    } else {
      out.push([lo, hi]);
    }
  }
  return out;
}

/** The first index of `set` at or after `from` whose interval ends at or above `v`. */
function firstEndingAtOrAbove(set: IntervalSet, v: bigint, from: number): number {
  let lo = from;
  let hi = set.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (set[mid]![1] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function intersects(a: IntervalSet, b: IntervalSet): boolean {
  if (a.length > b.length) [a, b] = [b, a];
  let j = 0;
  for (const [lo, hi] of a) {
    j = firstEndingAtOrAbove(b, lo, j);
    if (j === b.length) return false;
    if (b[j]![0] <= hi) return true;
  }
  return false;
}

/**
 * The sets the operations return are the arguments themselves where the answer is one of them
 * (a set within one interval of the other, or untouched by it), not copies: a query that a run
 * of thousands of bans left "any except those hosts" is carried through every later rule, and
 * copying its thousands of intervals at each made `show` quadratic in the policy's size.
 */
export function intersect(a: IntervalSet, b: IntervalSet): IntervalSet {
  if (a.length > b.length) [a, b] = [b, a];
  if (a.length === 0) return a;
  if (a.length === 1 && a[0]![0] <= b[0]![0] && a[0]![1] >= b[b.length - 1]![1]) return b;
  const out: Interval[] = [];
  let j = 0;
  for (const iv of a) {
    const [lo, hi] = iv;
    j = firstEndingAtOrAbove(b, lo, j);
    for (let k = j; k < b.length && b[k]![0] <= hi; k++) {
      const x = b[k]!;
      // An interval inside the other is itself (intervals are never changed): no new pair.
      out.push(x[0] >= lo && x[1] <= hi ? x : lo >= x[0] && hi <= x[1] ? iv : [x[0] > lo ? x[0] : lo, x[1] < hi ? x[1] : hi]);
    }
  }
  return out;
}

/**
 * Differences against a long set, by the identity of both sets (sets are never changed once
 * made). A walk subtracts the same run of thousands of bans from the same "any" once per part it
 * carries past them; each time made thousands of new pairs, and collecting them was half of
 * `show`'s time on the operator policy. Keys are weak: a set no box holds any more lets go of its
 * entries.
 */
const LONG = 32;
const differences = new WeakMap<IntervalSet, WeakMap<IntervalSet, IntervalSet>>();

export function subtract(a: IntervalSet, b: IntervalSet): IntervalSet {
  if (a.length === 0 || b.length === 0) return a;
  if (b.length === 1 && b[0]![0] <= a[0]![0] && b[0]![1] >= a[a.length - 1]![1]) return [];
  if (!intersects(a, b)) return a;
  if (b.length < LONG) return difference(a, b);
  let byB = differences.get(a);
  if (byB === undefined) differences.set(a, (byB = new WeakMap()));
  let out = byB.get(b);
  if (out === undefined) byB.set(b, (out = difference(a, b)));
  return out;
}

/** a minus b where they meet: one merge, keeping a's untouched pairs. */
function difference(a: IntervalSet, b: IntervalSet): IntervalSet {
  const out: Interval[] = [];
  let j = 0;
  for (const iv of a) {
    const [lo0, hi] = iv;
    let lo = lo0;
    j = firstEndingAtOrAbove(b, lo, j);
    // Untouched: the same pair (a set of thousands loses one host; the rest are not copied).
    if (j === b.length || b[j]![0] > hi) {
      out.push(iv);
      continue;
    }
    for (let k = j; k < b.length && b[k]![0] <= hi; k++) {
      const [blo, bhi] = b[k]!;
      if (blo > lo) out.push([lo, blo - 1n]);
      lo = bhi + 1n;
      if (lo > hi) break;
    }
    if (lo <= hi) out.push([lo, hi]);
  }
  return out;
}

/** a ∪ b, both already normal. */
export function unite(a: IntervalSet, b: IntervalSet): IntervalSet {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  // Appending above the end, the usual case for a run of rules in address order.
  if (b[0]![0] > a[a.length - 1]![1] + 1n) return [...a, ...b];
  // Otherwise one merge of the two sorted lists (a run that grows in the middle grows in linear time, not a sort's).
  const out: [bigint, bigint][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const [lo, hi] = j >= b.length || (i < a.length && a[i]![0] <= b[j]![0]) ? a[i++]! : b[j++]!;
    const last = out[out.length - 1];
    if (last !== undefined && lo <= last[1] + 1n) {
      if (hi > last[1]) last[1] = hi;
    } else out.push([lo, hi]);
  }
  return out;
}

/** Whether every value of `a` is in `b`. */
export const within = (a: IntervalSet, b: IntervalSet): boolean => subtract(a, b).length === 0;
