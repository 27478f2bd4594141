import { unite, type IntervalSet } from './intervals.js';
import { boxesIntersect, type Box } from './space.js';

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
    this.grown = unite(cur, more).map(([lo, hi]) => [lo, hi]);
    const next = this.box.slice();
    next[d] = this.grown;
    this.box = next;
  }

  /** The run's box without the members of `key` (null: nothing left); its own box when it has none. */
  boxWithout(key: unknown): Box | null {
    if (key !== this.firstKey && !this.keys?.has(key)) return this.box;
    const rest = this.members.filter((m) => m.key !== key);
    if (rest.length === 0) return null;
    if (this.dim === -1) return rest[0]!.box;
    const out = rest[0]!.box.slice();
    for (const m of rest.slice(1)) out[this.dim] = unite(out[this.dim]!, m.box[this.dim]!);
    return out;
  }

  /** Its members that share packets with `box`. */
  meeting(box: Box): Member<R>[] {
    return this.members.filter((m) => boxesIntersect(m.box, box));
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
