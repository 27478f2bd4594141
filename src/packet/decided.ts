import type { Family } from '../model/ir.js';
import { BoxIndex, type BoxKeys } from './box-index.js';
import { unite } from './intervals.js';
import { boxesIntersect, type Box } from './space.js';

/** A rule that decides its packets, as the store keeps it. */
export interface Member<R> {
  readonly rule: R;
  readonly box: Box;
  /** Rules with the same key (one policy rule's expansions) never cover each other. */
  readonly key: string;
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
  private readonly keys = new Set<string>();

  constructor(
    first: Member<R>,
    readonly verdict: string,
  ) {
    this.box = first.box;
    this.members = [first];
    this.keys.add(first.key);
  }

  /** Joins `m` to the run if it can (same verdict, one differing dimension); whether it did. */
  join(m: Member<R>, verdict: string): boolean {
    if (verdict !== this.verdict) return false;
    const d = differingDim(this.box, m.box);
    if (d === null || (this.dim !== -1 && d !== this.dim)) return false;
    if (d !== -1) {
      this.dim = d;
      const next = this.box.slice();
      next[d] = unite(this.box[d]!, m.box[d]!);
      this.box = next;
    }
    this.members.push(m);
    this.keys.add(m.key);
    return true;
  }

  /** The run's box without the members of `key` (null: nothing left); its own box when it has none. */
  boxWithout(key: string): Box | null {
    if (!this.keys.has(key)) return this.box;
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
function differingDim(a: Box, b: Box): number | null {
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

/**
 * The deciding rules of one chain seen so far, in runs, indexed by port and address. Asked, for a
 * new rule's box, which earlier rules share packets with it: the candidates the index gives,
 * narrowed by exact intersection, without the rule's own expansions.
 */
export class Decided<R> {
  private readonly index: BoxIndex<Run<R>>;
  private open: Run<R> | undefined;

  constructor(family: Family) {
    this.index = new BoxIndex(family);
  }

  keysOf(box: Box): BoxKeys {
    return this.index.keysOf(box);
  }

  /** The earlier runs meeting `box`, each with its box as it counts against a rule of `key`. */
  meeting(box: Box, key: string, keys: BoxKeys = this.keysOf(box)): { run: Run<R>; box: Box }[] {
    const out: { run: Run<R>; box: Box }[] = [];
    for (const run of this.index.candidates(keys)) {
      if (!boxesIntersect(run.box, box)) continue;
      const own = run.boxWithout(key);
      if (own !== null && (own === run.box || boxesIntersect(own, box))) out.push({ run, box: own });
    }
    return out;
  }

  add(m: Member<R>, verdict: string, keys: BoxKeys = this.keysOf(m.box)): void {
    if (this.open?.join(m, verdict)) {
      this.index.fileLast(keys);
      return;
    }
    this.open = new Run(m, verdict);
    this.index.add(this.open, keys);
  }
}
