import { type IntervalSet } from '../values/intervals.js';

/**
 * Sets numbered by their values: equal sets get equal numbers, so a box is keyed by a short list
 * of numbers however long its sets are (a show of 10,000 rules keys sets of thousands of
 * intervals, a diff thousands of outcomes that share them). A short set is keyed by its text; a
 * long one by a hash of its values, then compared with the sets of that hash: writing it out as
 * text (two numbers per interval) was most of show's join, and of diff's pairing, at 10,000
 * entries. The same array again is found by identity first.
 */
export class SetIds {
  private readonly byText = new Map<string, number>();
  private readonly byHash = new Map<number, { readonly set: IntervalSet; readonly id: number }[]>();
  private readonly byIdentity = new Map<IntervalSet, number>();
  private next = 0;

  /** The first set numbered with these values. */
  private readonly first: IntervalSet[] = [];

  id(set: IntervalSet): number {
    let id = this.byIdentity.get(set);
    if (id === undefined) this.byIdentity.set(set, (id = this.byValue(set)));
    this.first[id] ??= set;
    return id;
  }

  /**
   * The first set seen with the same values (numbered on the way): equal sets made one array, so
   * that intersecting two of them is free (the operations return an argument that is the other).
   */
  canonical(set: IntervalSet): IntervalSet {
    return this.first[this.id(set)]!;
  }

  private byValue(set: IntervalSet): number {
    if (set.length < LONG_SET) {
      const text = setText(set);
      let id = this.byText.get(text);
      if (id === undefined) this.byText.set(text, (id = this.next++));
      return id;
    }
    const h = setHash(set);
    const bucket = this.byHash.get(h);
    const same = bucket?.find((b) => sameValues(b.set, set));
    if (same !== undefined) return same.id;
    const id = this.next++;
    if (bucket === undefined) this.byHash.set(h, [{ set, id }]);
    else bucket.push({ set, id });
    return id;
  }
}

const setText = (s: IntervalSet): string => s.map(([lo, hi]) => `${lo}-${hi}`).join(',');

/** Sets of this many intervals or more are keyed by a hash. */
const LONG_SET = 16;

/** A hash of a set's values: each end's bits 0-31 and 64-95 (an IPv6 host's and its network's). */
function setHash(s: IntervalSet): number {
  let h = s.length;
  for (const [lo, hi] of s) {
    h = Math.imul(h ^ Number(BigInt.asUintN(32, lo)), 0x9e3779b1);
    h = Math.imul(h ^ Number(BigInt.asUintN(32, hi)), 0x85ebca6b);
    if (hi > 0xffffffffn) h = Math.imul(h ^ Number(BigInt.asUintN(32, lo >> 64n)) ^ Number(BigInt.asUintN(32, hi >> 64n)), 0xc2b2ae35);
  }
  return h;
}

/** Whether two sets hold the same values. */
export function sameValues(a: IntervalSet, b: IntervalSet): boolean {
  return a === b || (a.length === b.length && a.every(([lo, hi], i) => lo === b[i]![0] && hi === b[i]![1]));
}
