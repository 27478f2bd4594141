import { IntervalIndex } from './index/interval-index.js';
import { intersect, normalizeSet, unite, within, type Interval, type IntervalSet } from '../values/intervals.js';
import { boxesIntersect, intersectBox, isFull, type Box, copyBox } from './space.js';

/** A rule that decides its packets, as the store keeps it. */
export interface Member<R> {
  readonly rule: R;
  readonly box: Box;
  /** Rules with the same key (one policy rule's expansions: its origin) never cover each other. */
  readonly key: unknown;
}

/**
 * Adjacent deciding rules with the same verdict whose boxes differ in one dimension only (a list
 * of bans, a port list split into chunks), as one box: the first match of such rules is exactly
 * a match of their union. A chain's thousand bans are then one entry to compare with, not a
 * thousand: this is what keeps every check near-linear on the policies operators write.
 */
export class Run<R> {
  box: Box;
  readonly members: Member<R>[];
  /** The one dimension its members differ in; -1 while it has one member. */
  private dim = -1;
  /** That dimension's values, the run's own array once it has two members: appended to in place. */
  private grown: [bigint, bigint][] | undefined;
  /** Its members' keys: the first, and a set only once a second one joins (most runs have one member). */
  private readonly firstKey: unknown;
  private keys: Set<unknown> | undefined;
  /** Its members' values in that dimension, by member number: built on the first question, then kept up to date. */
  private readonly byValue = new IntervalIndex();
  /** How many members `byValue` holds (the first ones). */
  private indexed = 0;

  constructor(
    first: Member<R>,
    readonly verdict: string,
  ) {
    this.box = first.box;
    this.members = [first];
    this.firstKey = first.key;
  }

  /** Joins `m` to the run if it can (same verdict, one differing dimension); whether it did. */
  join(m: Member<R>, verdict: string): boolean {
    if (verdict !== this.verdict) return false;
    const d = differingDim(this.box, m.box);
    if (d === null || (this.dim !== -1 && d !== this.dim)) return false;
    if (d !== -1) {
      this.dim = d;
      this.grow(d, m.box[d]!);
    }
    this.members.push(m);
    if (m.key !== this.firstKey) (this.keys ??= new Set()).add(m.key);
    return true;
  }

  /**
   * Adds `more` to the run's values in dimension d. Members usually come in address or port
   * order, each above the last: appending in place keeps a run of thousands linear.
   */
  private grow(d: number, more: IntervalSet): void {
    const grown = this.grown;
    const last = grown?.[grown.length - 1];
    if (grown !== undefined && last !== undefined && more.length > 0 && more[0]![0] > last[1]) {
      let k = 0;
      // The next port or address after the last: the last interval grows.
      if (more[0]![0] === last[1] + 1n) last[1] = more[k++]![1];
      for (; k < more.length; k++) grown.push([more[k]![0], more[k]![1]]);
      return;
    }
    const cur = this.box[d]!;
    // A value the run already has (the same ports as an earlier rule of the run): nothing grows.
    if (within(more, cur)) return;
    this.grown = unite(cur, more).map(([lo, hi]) => [lo, hi]);
    const next = copyBox(this.box);
    next[d] = this.grown;
    this.box = next;
  }

  /**
   * What the run's members other than those of `key` match, as far as it meets `box` (null:
   * nothing there): the run's own box when `key` has no member, else only the part inside `box`,
   * made from the members that meet it, so a rule's own earlier expansions in a long run cost
   * what they meet, not the run's length.
   */
  clippedWithout(key: unknown, box: Box): Box | null {
    if (!boxesIntersect(this.box, box)) return null;
    if (key !== this.firstKey && !this.keys?.has(key)) return this.box;
    if (this.dim === -1) return this.members.some((m) => m.key !== key) ? intersectBox(this.box, box) : null;
    const parts: Interval[] = [];
    for (const i of this.meetingIds(box)) {
      const m = this.members[i]!;
      if (m.key !== key) parts.push(...intersect(m.box[this.dim]!, box[this.dim]!));
    }
    if (parts.length === 0) return null;
    const out = copyBox(intersectBox(this.box, box)!);
    out[this.dim] = normalizeSet(parts);
    return out;
  }

  /** The first of its members that shares packets with `box`. */
  firstMeeting(box: Box): Member<R> | undefined {
    if (!boxesIntersect(this.box, box)) return undefined;
    // A box with every value of the run's dimension meets every member (any source, a row of
    // bans): every value, or the run's own (what intersecting with the run gives back).
    if (this.dim === -1 || box[this.dim] === this.box[this.dim] || isFull(box[this.dim]!, this.dim)) return this.members[0];
    const first = this.meetingIds(box)[0];
    return first === undefined ? undefined : this.members[first];
  }

  /** Its members that share packets with `box`, in order; of its first `upTo` members only, when given. */
  meeting(box: Box, upTo = this.members.length): Member<R>[] {
    if (!boxesIntersect(this.box, box)) return [];
    if (this.dim === -1) return this.members.slice(0, upTo);
    const ids = this.meetingIds(box);
    const out: Member<R>[] = [];
    for (const i of ids) if (i < upTo) out.push(this.members[i]!);
    return out;
  }

  /**
   * The numbers of the members meeting `box`, ascending, given that the run's box meets it: the
   * members are alike outside the run's dimension, so only that one is asked, through the index.
   */
  private meetingIds(box: Box): number[] {
    const want = box[this.dim]!;
    const members = this.members;
    // A query of more pieces than the run has members (a walk's remainder) is cheaper to test directly.
    if (want.length >= members.length) {
      const out: number[] = [];
      for (let i = 0; i < members.length; i++) if (boxesIntersect(members[i]!.box, box)) out.push(i);
      return out;
    }
    for (; this.indexed < members.length; this.indexed++) for (const [lo, hi] of members[this.indexed]!.box[this.dim]!) this.byValue.add(lo, hi, this.indexed);
    const found = new Set<number>();
    for (const [lo, hi] of want) this.byValue.meeting(lo, hi, (i) => found.add(i));
    return [...found].sort((a, b) => a - b);
  }
}

/** The one dimension two boxes differ in: -1 when equal, null when they differ in more than one. */
export function differingDim(a: Box, b: Box): number | null {
  let found = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i] || sameSet(a[i]!, b[i]!)) continue;
    if (found !== -1) return null;
    found = i;
  }
  return found;
}

function sameSet(a: Box[number], b: Box[number]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]![0] !== b[i]![0] || a[i]![1] !== b[i]![1]) return false;
  return true;
}
