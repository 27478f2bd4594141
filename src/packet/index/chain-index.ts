import type { Chain, Family, Rule } from '../../model/ir.js';
import { BoxIndex, type BoxKeys } from './box-index.js';
import { intersects, unite, type IntervalSet } from '../../values/intervals.js';
import { differingDim, Run, type Member } from '../run.js';
import { coveredBy, type Box, copyBox } from '../space.js';

export interface RuleBox {
  readonly box: Box;
  /** False for a rule that matches only some packets of its box (a rate limit). */
  readonly exact: boolean;
}

/** A rule of a chain, or a run of adjacent rules with one verdict that differ in one dimension. */
interface Entry {
  readonly run: Run<Rule>;
  readonly exact: boolean;
}

/** Of a rule that never matches: the earlier runs that together decide all its packets. */
export interface Dead {
  readonly rule: Rule;
  readonly box: Box;
  /** Each with what it matches of the rule's box (the rule's own expansions left out; may reach beyond the box). */
  readonly covers: readonly { readonly run: Run<Rule>; readonly box: Box; readonly members: number }[];
}

/** Of a rule whose coverage could not be decided within the work budget: how many earlier runs overlap it. */
export interface Undecided {
  readonly rule: Rule;
  readonly box: Box;
  readonly overlapping: number;
}

/**
 * The most pieces one rule's packets may be cut into while the earlier rules are taken out of
 * them (see coveredBy). Past it the rule is reported as undecided (`analysis-limit`), never
 * silently taken as live.
 */
export const COVER_BUDGET = 20_000;

/** Targets that decide a packet for this chain (RETURN hands it back to the caller, undecided by it). */
const DECIDING = new Set<Rule['target']['kind']>(['accept', 'drop', 'reject', 'return']);

/**
 * A chain's rules with their boxes, in runs (see Run: a thousand bans are one entry, so a query
 * that meets them all splits once, not a thousand times), and an index from a query to the
 * entries that may meet it. Built in chain order, asking for each deciding rule which earlier
 * runs share packets with it: the rules they decide entirely never match (`dead`).
 */
export class IndexedChain {
  readonly entries: Entry[] = [];
  readonly dead: Dead[] = [];
  /** The deciding rules whether the runs before them decide entirely could not be told within the budget. */
  readonly undecided: Undecided[] = [];
  /** The exact deciding entries: what can cover a rule. */
  private readonly deciding: BoxIndex<number>;
  /** The others (jumps, logs, rate limits: thousands for a policy of users), which never cover one. */
  private readonly others: BoxIndex<number>;

  constructor(
    chain: Chain,
    family: Family,
    boxOfRule: (r: Rule) => RuleBox,
    private readonly budget = COVER_BUDGET,
  ) {
    this.deciding = new BoxIndex<number>(family);
    this.others = new BoxIndex<number>(family);
    /** The run the next rule may join: the last entry, when it is an exact deciding run. */
    let open: Run<Rule> | undefined;
    for (const rule of chain.rules) {
      const { box, exact } = boxOfRule(rule);
      const keys = this.deciding.keysOf(box);
      const decides = DECIDING.has(rule.target.kind);
      if (decides) this.sweep(rule, box, keys);
      const verdict = joinable(rule);
      const member: Member<Rule> = { rule, box, key: rule.origin };
      if (open !== undefined && exact && verdict !== null && open.join(member, verdict)) {
        this.deciding.fileLast(keys);
        continue;
      }
      const run = new Run(member, verdict ?? '');
      open = exact && verdict !== null ? run : undefined;
      (exact && decides ? this.deciding : this.others).add(this.entries.length, keys);
      this.entries.push({ run, exact });
    }
  }

  /** Records `rule` as dead if the runs so far decide all of `box` (the rule's own expansions aside). */
  private sweep(rule: Rule, box: Box, keys: BoxKeys): void {
    // With how many members each run had then: a run grows past the rule, and its later members are no cause.
    const covers: { run: Run<Rule>; box: Box; members: number }[] = [];
    for (const i of this.deciding.candidates(keys)) {
      const e = this.entries[i]!;
      // Only the part of each run inside the rule's box matters to whether it is covered.
      const own = e.run.clippedWithout(rule.origin, box);
      if (own !== null) covers.push({ run: e.run, box: own, members: e.run.members.length });
    }
    if (covers.length === 0) return;
    const covered = coveredBy(box, covers.map((c) => c.box), this.budget);
    if (covered === true) this.dead.push({ rule, box, covers });
    else if (covered === undefined) this.undecided.push({ rule, box, overlapping: covers.length });
  }

  private batches: (JumpBatch | undefined)[] | undefined;

  /** The batch of jumps entry `i` is in, if any (built on first use). */
  batchOf(i: number): JumpBatch | undefined {
    return (this.batches ??= jumpBatches(this.entries))[i];
  }

  /** Each rule's entry, built on first use (`holdsAny`). */
  private entryOf: Map<Rule, number> | undefined;

  /** Whether entry `i` holds one of `rules`: by the fewer of its members and those rules. */
  holdsAny(i: number, rules: ReadonlySet<Rule>): boolean {
    const members = this.entries[i]!.run.members;
    if (members.length <= rules.size) return members.some((m) => rules.has(m.rule));
    if (this.entryOf === undefined) {
      this.entryOf = new Map();
      this.entries.forEach((e, k) => e.run.members.forEach((m) => this.entryOf!.set(m.rule, k)));
    }
    for (const r of rules) if (this.entryOf.get(r) === i) return true;
    return false;
  }

  /** The entries that may meet `query`, in chain order. */
  candidates(query: Box): readonly number[] {
    const keys = this.deciding.keysOf(query);
    const a = this.deciding.candidates(keys);
    const b = this.others.size === 0 ? [] : this.others.candidates(keys);
    return b.length === 0 ? a : a.length === 0 ? b : mergeAscending(a, b);
  }
}

/** Two ascending lists of distinct numbers, merged. */
function mergeAscending(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length || j < b.length) out[k++] = j >= b.length || (i < a.length && a[i]! < b[j]!) ? a[i++]! : b[j++]!;
  return out;
}

/**
 * The verdict under which adjacent rules may form a run; null for rules that never join one.
 * RETURNs join too (an `except:` list returns host by host from the rule's chain): walked one by
 * one, each host came back as a part of its own, a thousand per chain, and a hundred rules with
 * the same thousand-host `except` split show's questions past its bound.
 */
function joinable(rule: Rule): string | null {
  const t = rule.target;
  if (t.kind === 'accept' || t.kind === 'drop' || t.kind === 'return') return t.kind;
  if (t.kind === 'reject') return `reject ${t.with}`;
  return null;
}


/**
 * Adjacent jumps whose boxes differ in one dimension only, with no value in common there (the
 * jump to each user's chain, by uid): a packet meets one of them at most, so the walk can send
 * each part to the ones it meets at once, found by value, instead of past each jump in turn
 * (every question about outbound connections met every user's jump, and split at each).
 */
export interface JumpBatch {
  /** Its first and last entries. */
  readonly first: number;
  readonly last: number;
  readonly dim: number;
  /** The box they share, with all their values in `dim`. */
  readonly box: Box;
  /** Their values in `dim`, ascending, each with its entry. */
  readonly byValue: readonly { readonly lo: bigint; readonly hi: bigint; readonly entry: number }[];
}

/** Fewer jumps than this in a row are walked one by one. */
const MIN_BATCH = 4;

function jumpBatches(entries: readonly Entry[]): (JumpBatch | undefined)[] {
  const out: (JumpBatch | undefined)[] = new Array(entries.length);
  const isJump = (e: Entry): boolean => e.exact && e.run.members.length === 1 && e.run.members[0]!.rule.target.kind === 'jump';
  for (let i = 0; i < entries.length; ) {
    if (!isJump(entries[i]!)) {
      i++;
      continue;
    }
    const first = entries[i]!.run.box;
    let dim = -1;
    let values: IntervalSet = [];
    let j = i + 1;
    for (; j < entries.length && isJump(entries[j]!); j++) {
      const box = entries[j]!.run.box;
      const d = differingDim(first, box);
      if (d === null || d === -1 || (dim !== -1 && d !== dim)) break;
      if (dim === -1) {
        dim = d;
        values = first[d]!;
      }
      if (intersects(values, box[d]!)) break;
      values = unite(values, box[d]!);
    }
    if (j - i >= MIN_BATCH) {
      const byValue = entries
        .slice(i, j)
        .flatMap((e, k) => e.run.box[dim]!.map(([lo, hi]) => ({ lo, hi, entry: i + k })))
        .sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
      const box = copyBox(first);
      box[dim] = values;
      const batch: JumpBatch = { first: i, last: j - 1, dim, box, byValue };
      for (let k = i; k < j; k++) out[k] = batch;
    }
    i = j;
  }
  return out;
}
