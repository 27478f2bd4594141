import { FAMILY_NAMES } from '../model/family.js';
import { createHash } from 'node:crypto';
import type { Chain, Direction, Family, IR, Rule, Table } from '../model/ir.js';
import { BoxIndex, outsideOf } from '../packet/index/box-index.js';
import { joinBoxes, plainConnection, realized } from './describe.js';
import { decidingRule } from './explain.js';
import { chainGraph } from '../packet/chain-graph.js';
import { changesDestination, changesSource, followPath, inLo, LO, modelsOf, outLo, PATHS, translatedAnywhere, untranslated, type Outcome, type RulesetModel } from '../packet/path.js';
import { sameValues, SetIds } from '../packet/set-ids.js';
import { boxesIntersect, DIM, everything, intersectBox, statesOf, subtractBox, withStates, type Box, copyBox, mapBox } from '../packet/space.js';
import type { IntervalSet } from '../values/intervals.js';

/** Packets whose fate differs between two compiled policies. */
export interface Change {
  readonly family: Family;
  readonly direction: Direction;
  readonly box: Box;
  readonly before: Outcome['verdict'];
  readonly after: Outcome['verdict'];
  /** The rule that now decides them (in the new policy), or, where its default policy does, the one that did. */
  readonly rule: Rule | undefined;
}

const DIRECTIONS: readonly Direction[] = ['in', 'out', 'forward'];

/**
 * The most pieces diff follows (`followed`): outcomes of the walks, both policies (each a box; a change of
 * every rule of a 10,000-entry operator policy is about 300,000), and pieces that change verdict
 * in one family and direction (`changed`).
 * Past them a diff would run for many minutes or out of memory; it stops, saying which.
 */
export interface DiffLimits {
  readonly followed: number;
  readonly changed: number;
}
const LIMITS: DiffLimits = { followed: 500_000, changed: 100_000 };

/** A change too large for diff to follow exactly (see LIMITS): what went over. */
export class DiffTooLarge extends Error {}

/**
 * Every packet whose verdict differs between `before` and `after`, exactly: only packets that
 * meet a rule that was added, removed or moved (a chain's rules compared as sequences), or whose
 * chain changed its policy, can change fate, so only those are followed along each path in both
 * rule sets. Packets a redirect moves onto a changed rule are followed from before the redirect.
 */
export function changedPackets(before: IR, after: IR, limits: DiffLimits = LIMITS): Change[] {
  const out: Change[] = [];
  let followed = 0;
  for (const family of FAMILY_NAMES) {
    const a = modelsOf(before).find((m) => m.family === family);
    const b = modelsOf(after).find((m) => m.family === family);
    if (a === undefined && b === undefined) continue;
    const touched = touchedBoxes(family, [before, a], [after, b]);
    for (const direction of DIRECTIONS) {
      // Held until the direction's pieces are joined into rows: what bounds diff's memory (each
      // piece is a box of sets; 250,000 of them were past 4 GB). A change of every rule of the
      // 10,000-entry operator policy has at most 43,000 in one direction.
      const found: Change[] = [];
      let changed = 0;
      for (const start of entryParts(coalesced(touched[direction]).flatMap(portChunks), family)) {
        const was = a ? followPath(a, direction, start) : [{ box: start, entry: start, verdict: 'accept' as const, rules: [] }];
        const now = b ? followPath(b, direction, start) : [{ box: start, entry: start, verdict: 'accept' as const, rules: [] }];
        followed += was.length + now.length;
        if (followed > limits.followed) throw new DiffTooLarge(`the packets it touches split into more than ${limits.followed.toLocaleString('en')} pieces along their paths`);
        for (const [o, n] of differing(was, now, family)) {
          const both = intersectBox(o.entry, n.entry);
          const real = both && realized(both);
          if (!real) continue;
          const rule = decidingRule(n) ?? decidingRule(o);
          found.push({ family, direction, box: real, before: o.verdict, after: n.verdict, rule });
          if (++changed > limits.changed) throw new DiffTooLarge(`the packets that change verdict split into more than ${limits.changed.toLocaleString('en')} pieces in one direction`);
        }
      }
      out.push(...merged(found, family));
    }
  }
  return out;
}

/** Packets a changed rule may decide differently, with the chain of that rule (`table chain`). */
interface Touched {
  readonly box: Box;
  readonly chain: string;
}

/**
 * The touched packets in as few boxes as they join into (boxes that differ in one dimension),
 * each chain's apart. Each box is walked on its own, and a walk pays for every rule its box may
 * meet: a box per rule of a list of a thousand ports met the list's run of rules (its thousand
 * ports) a thousand times, and an outbound deny per host was split by every user's rule once per
 * host. Joined across chains, the ports of every kind of rule (redirects, limits, allowlists)
 * became one box, which each allowlisted host then cut into a piece of its own on both sides, and
 * pairing those pieces was quadratic.
 */
const coalesced = (boxes: readonly Touched[]): Box[] => joinBoxes(boxes, (t) => t.chain).map((x) => x.box);

/**
 * The most port intervals one walk starts with. A walk with many ports meets every rule for each
 * of them, and each cuts it (the allowlist of one host per port leaves a piece per host that
 * holds all the other ports, on both sides); pairing those pieces grows with the square of the
 * ports. In chunks the pieces stay few per walk, and a walk per port would pay a walk's own cost
 * thousands of times (a change of every rule of 5,000 entries: 46 s joined, 31 s a port each, 14 s
 * in chunks of 32; 8 and 128 cost more).
 */
const PORT_CHUNK = 32;

/** A box as boxes of at most PORT_CHUNK port intervals each. */
function portChunks(box: Box): Box[] {
  const ports = box[DIM.dport];
  if (ports.length <= PORT_CHUNK) return [box];
  const out: Box[] = [];
  for (let i = 0; i < ports.length; i += PORT_CHUNK) {
    const one = copyBox(box);
    one[DIM.dport] = ports.slice(i, i + PORT_CHUNK);
    out.push(one);
  }
  return out;
}

/** Below this many pairs of outcomes, every pair is compared: indexing a few costs more. */
const PAIRS_INDEXED_FROM = 256;

/**
 * The pairs of outcomes of one start, before and after, whose verdicts differ and which may share
 * packets, in the order of a loop over both. Each side's outcomes are disjoint, so an outcome the
 * other side has exactly, with its verdict, shares packets with nothing else there and is
 * dropped; the rest are paired through an index (a walk split by a thousand users has a thousand
 * outcomes on each side, nearly all the same).
 */
function differing(was: readonly Outcome[], now: readonly Outcome[], family: Family): [Outcome, Outcome][] {
  const pairs: [Outcome, Outcome][] = [];
  if (was.length * now.length < PAIRS_INDEXED_FROM) {
    for (const o of was) for (const n of now) if (o.verdict !== n.verdict) pairs.push([o, n]);
    return pairs;
  }
  // Each side's sets as one array per value: the two policies' outcomes hold equal sets made
  // apart (the same thousand bans, subtracted on each side), and intersecting a pair of them was
  // a merge of thousands of intervals per pair.
  const ids = new SetIds();
  const canonical = (x: Outcome): Outcome => ({ ...x, entry: mapBox(x.entry, (set) => ids.canonical(set)) });
  const key = (x: Outcome): string => `${x.verdict} ${x.entry.map((set) => ids.id(set)).join(',')}`;
  was = was.map(canonical);
  now = now.map(canonical);
  const keysNow = new Set(now.map(key));
  const keysWas = new Set(was.map(key));
  const index = new BoxIndex<Outcome>(family);
  for (const n of now) if (!keysWas.has(key(n))) index.add(n, index.keysOf(n.entry));
  for (const o of was) {
    if (keysNow.has(key(o))) continue;
    for (const n of index.candidates(index.keysOf(o.entry))) if (o.verdict !== n.verdict) pairs.push([o, n]);
  }
  return pairs;
}

/**
 * What rules do to packets, whatever they and their chains are called: a rule's matches (a set
 * by its contents) and target (a jump by the rules of its chain). Adding a rule renumbers the
 * chains and sets of the rules after it (ipf-in-5 becomes ipf-in-6); those are not changes.
 */
class RuleKeys {
  private readonly chainKeys = new Map<string, string>();
  private readonly sets: ReadonlyMap<string, string>;
  constructor(
    ir: IR,
    family: Family,
    private readonly chains: ReadonlyMap<string, Chain>,
  ) {
    this.sets = new Map(ir.sets.filter((s) => s.family === family).map((s) => [s.name, s.entries.join(',')]));
  }

  rule(table: string, r: Rule): string {
    const matches = r.matches.map((m) => (m.kind === 'set' ? { ...m, name: this.sets.get(m.name) ?? m.name } : m));
    const t = r.target;
    return JSON.stringify([matches, t.kind === 'jump' ? { kind: 'jump', to: this.chain(table, t.chain) } : t]);
  }

  private chain(table: string, name: string): string {
    const key = `${table} ${name}`;
    let hit = this.chainKeys.get(key);
    if (hit === undefined) {
      // A jump loop (refused by chain-loop, which runs before) would recurse: it keys by name.
      this.chainKeys.set(key, key);
      const c = this.chains.get(key);
      hit = c === undefined ? key : createHash('sha256').update(c.rules.map((r) => this.rule(table, r)).join('\n')).digest('hex');
      this.chainKeys.set(key, hit);
    }
    return hit;
  }
}

/**
 * The boxes of the rules that differ between two rule sets of one family, disjoint; the whole
 * family where a built-in chain's policy changed. Chains are compared rule by rule from the
 * ones no rule jumps to (the built-in ones, and ipfence's hooked in from outside the file); a
 * jump whose chain changed is followed into both chains (renumbered or not), so only the rules
 * that differ there count, within what the jump sends.
 */
function touchedBoxes(family: Family, [irA, a]: [IR, RulesetModel | undefined], [irB, b]: [IR, RulesetModel | undefined]): Record<Direction, Touched[]> {
  // By path: a rule changes only packets that pass a hook its chain is reached from.
  const boxes: Record<Direction, Touched[]> = { in: [], out: [], forward: [] };
  const sourceNatted = natsSourceOnLo(a, family) || natsSourceOnLo(b, family);
  const file = (box: Box, hooks: readonly string[], chain: string, looped = true): void => {
    for (const d of DIRECTIONS) if (PATHS[d].some((h) => hooks.includes(h))) boxes[d].push({ box, chain });
    // What this host sends itself out lo comes back in on lo and meets PREROUTING and INPUT too
    // (see path.ts, LOOPED): a rule there changes those packets of the path out as well.
    if (looped && !PATHS.out.some((h) => hooks.includes(h)) && LOOPED_BACK.some((h) => hooks.includes(h))) {
      const back = sentToItself(box, family, sourceNatted);
      if (back !== null) boxes.out.push({ box: back, chain });
    }
  };
  const chainsOf = (m: RulesetModel | undefined): Map<string, Chain> => new Map((m?.ruleset.tables ?? []).flatMap((t) => t.chains.map((c) => [`${t.name} ${c.name}`, c] as const)));
  const ca = chainsOf(a);
  const cb = chainsOf(b);
  const ka = new RuleKeys(irA, family, ca);
  const kb = new RuleKeys(irB, family, cb);
  const jumpedTo = new Set([a, b].flatMap((m) => (m?.ruleset.tables ?? []).flatMap((t) => [...chainGraph(t).jumpedTo()].map((name) => `${t.name} ${name}`))));
  const behindA = behindLoopbackAccept(a, family);
  const behindB = behindLoopbackAccept(b, family);
  const add = (m: RulesetModel, r: Rule, via: Box, hooks: readonly string[], chain: string): void => {
    // LOG and MARK decide nothing and change nothing a verdict depends on (no rule matches a
    // mark): added, removed or moved, they change no packet's fate. Followed, each mark of a
    // policy walked its packets past every user's chain on the way out.
    if (r.target.kind === 'log' || r.target.kind === 'mark') return;
    const box = intersectBox(m.box(r).box, via);
    if (box === null) return;
    file(box, hooks, chain, !(m === a ? behindA : behindB).has(r));
  };
  const compared = new Set<string>();
  const compare = (table: string, x: Chain | undefined, y: Chain | undefined, via: Box, hooks: readonly string[]): void => {
    const pair = `${table} ${x?.name} ${y?.name}`;
    if (compared.has(pair)) return;
    compared.add(pair);
    const chain = `${table} ${x?.name ?? y?.name}`;
    const rulesA = x?.rules ?? [];
    const rulesB = y?.rules ?? [];
    let i = 0;
    let j = 0;
    let removed: Rule[] = [];
    const parts = align(rulesA.map((r) => ka.rule(table, r)), rulesB.map((r) => kb.rule(table, r)));
    for (const part of parts) {
      const n = part.count;
      if (part.removed) removed = rulesA.slice(i, i + n);
      else if (part.added) {
        const added = rulesB.slice(j, j + n);
        // A jump that stayed where it was, with the same matches, whose chain changed: look inside.
        for (let k = 0; k < added.length; k++) {
          const old = removed[k];
          const now = added[k]!;
          if (old?.target.kind === 'jump' && now.target.kind === 'jump' && JSON.stringify(old.matches) === JSON.stringify(now.matches)) {
            const inner = intersectBox(b!.box(now).box, via);
            if (inner) compare(table, ca.get(`${table} ${old.target.chain}`), cb.get(`${table} ${now.target.chain}`), inner, hooks);
            removed[k] = undefined as unknown as Rule;
          } else add(b!, now, via, hooks, chain);
        }
        for (const r of removed) if (r !== undefined) add(a!, r, via, hooks, chain);
        removed = [];
      } else {
        for (const r of removed) add(a!, r, via, hooks, chain);
        removed = [];
      }
      if (!part.added) i += n;
      if (!part.removed) j += n;
    }
    for (const r of removed) add(a!, r, via, hooks, chain);
  };
  for (const key of new Set([...ca.keys(), ...cb.keys()])) {
    if (jumpedTo.has(key)) continue;
    const x = ca.get(key);
    const y = cb.get(key);
    const [table, name] = key.split(' ') as [string, string];
    const hooks = x?.hookedFrom ?? y?.hookedFrom ?? [name];
    if ((x?.policy ?? 'ACCEPT') !== (y?.policy ?? 'ACCEPT')) file(everything(family), hooks, key);
    else compare(table, x, y, everything(family), hooks);
  }
  // A changed rule that meets redirected or DNATed connections: they are followed from before
  // their translation, in every direction (a port forward enters to this host and leaves through it).
  // The touched boxes by port and address block: asked once per redirect, a scan of all of them
  // was redirects x changes.
  const index = new BoxIndex<Box>(family);
  for (const d of DIRECTIONS) for (const x of boxes[d]) index.add(x.box, index.keysOf(x.box));
  const meets = (box: Box): boolean => index.candidates(index.keysOf(box)).some((x) => boxesIntersect(x, box));
  // So do a NOTRACK's: a packet of any state it makes UNTRACKED meets a changed rule of state
  // UNTRACKED (a user's block, the untracked accept), which its own state never reached.
  for (const m of [a, b]) {
    for (const t of m?.ruleset.tables ?? []) {
      if (t.name !== 'nat' && t.name !== 'raw') continue;
      for (const c of t.chains) {
        let directions: readonly Direction[] | undefined;
        for (const r of c.rules) {
          if (!changesDestination(r.target) && r.target.kind !== 'notrack') continue;
          const entered = m!.box(r).box;
          const moved = translatedAnywhere(r.target, untranslated(entered), family);
          if (!meets(moved)) continue;
          for (const d of (directions ??= natDirections(t, c.name))) boxes[d].push({ box: entered, chain: `${t.name} ${c.name}` });
          index.add(entered, index.keysOf(entered));
        }
      }
    }
  }
  // A connection on lo is this host's own: said on the path out (OUTPUT, then back in: see
  // sentToItself), as show lists it, not a second time as one to this host in on lo.
  const offLo = boxes.in.flatMap((x) => subtractBox(x.box, inLo(x.box)).map((box) => ({ ...x, box })));
  return { in: disjoint(offLo, family), out: disjoint(boxes.out, family), forward: disjoint(boxes.forward, family) };
}

/**
 * The paths a nat chain's translations are made on: those through the hooks that reach it
 * (PREROUTING's redirects never move a connection this host makes; followed out anyway, each
 * walked past every user's chain).
 */
function natDirections(table: Table, name: string): readonly Direction[] {
  return DIRECTIONS.filter((d) => PATHS[d].some((h) => chainGraph(table).reachedFrom(h).has(name)));
}

/** The hooks a packet sent out lo meets again on its way back in. */
const LOOPED_BACK: readonly string[] = ['PREROUTING', 'INPUT'];

/**
 * The packets leaving this host by lo that come back in as packets of `box` (a box of
 * PREROUTING or INPUT): those of it that arrive on lo, as they left, out lo from any input
 * interface the path out gives them. Null when `box` takes nothing from lo.
 */
function sentToItself(box: Box, family: Family, sourceNatted: boolean): Box | null {
  const back = intersectBox(box, inLo(box));
  if (back === null) return null;
  const sent = copyBox(back);
  sent[DIM.in] = everything(family)[DIM.in];
  sent[DIM.out] = LO;
  // Where SNAT or MASQUERADE may take a packet out lo, INPUT sees the source it gave, not the
  // one it was sent from: any source may be one the box's rule matches.
  if (sourceNatted) sent[DIM.src] = everything(family)[DIM.src];
  return sent;
}

/** Whether a SNAT or MASQUERADE of `m` may take packets that leave by lo (see sentToItself). */
function natsSourceOnLo(m: RulesetModel | undefined, family: Family): boolean {
  const lo = outLo(everything(family));
  return (m?.ruleset.tables ?? []).some((t) => t.name === 'nat' && t.chains.some((c) => c.rules.some((r) => changesSource(r.target) && boxesIntersect(m!.box(r).box, lo))));
}

/**
 * The rules no packet back in on lo reaches in `m`: those after a rule of their chain that
 * accepts every packet on lo (the preamble's loopback accept). A packet this host sent itself
 * changes fate only at a changed rule it meets, so these need not be followed on the path out:
 * following each inbound rule's packets out lo and back doubled a diff of every inbound rule.
 */
function behindLoopbackAccept(m: RulesetModel | undefined, family: Family): Set<Rule> {
  const behind = new Set<Rule>();
  if (m === undefined) return behind;
  const lo = inLo(everything(family));
  for (const t of m.ruleset.tables) {
    for (const c of t.chains) {
      let after = false;
      for (const r of c.rules) {
        if (after) behind.add(r);
        else if (r.target.kind === 'accept') {
          const { box, exact } = m.box(r);
          after = exact && subtractBox(lo, box).length === 0;
        }
      }
    }
  }
  return behind;
}

/**
 * The boxes made disjoint: each minus the parts before it. Only the earlier parts it may meet are
 * subtracted (an index by port and address block): subtracting every earlier part made a change
 * of every rule quadratic (2,000 rules 13 s), and subtracting a part it does not meet changes
 * nothing, so the parts are the same.
 */
function disjoint(items: readonly Touched[], family: Family): Touched[] {
  const index = new BoxIndex<Box>(family);
  return items.flatMap((item) => outsideOf(index, item.box).map((box) => ({ ...item, box })));
}


const MAX_ALIGN_DEPTH = 8;

/** A run of rules kept (in both), removed (only in the old chain) or added (only in the new). */
interface Part {
  readonly count: number;
  readonly added?: boolean;
  readonly removed?: boolean;
}

/**
 * Two chains' rule keys aligned: a common subsequence, and the rest as removed then added runs.
 * Any common subsequence is sound (a packet that meets no rule outside it meets the same rules
 * in the same order on both sides), and a longer one follows fewer packets. The common ends are
 * kept; between them, the keys found exactly once on each side anchor the alignment in their
 * longest increasing run (patience diff), and each gap between anchors is aligned again the same
 * way. Time about n log n: a shortest edit script (Myers) costs the rules times the changes, so
 * a change of every rule was quadratic.
 */
export function align(a: readonly string[], b: readonly string[]): Part[] {
  const out: Part[] = [];
  const push = (count: number, kind: 'same' | 'added' | 'removed'): void => {
    if (count === 0) return;
    const last = out[out.length - 1];
    const lastKind = last === undefined ? undefined : last.added ? 'added' : last.removed ? 'removed' : 'same';
    if (last !== undefined && lastKind === kind) out[out.length - 1] = { ...last, count: last.count + count };
    else out.push(kind === 'same' ? { count } : kind === 'added' ? { count, added: true } : { count, removed: true });
  };
  const walk = (a0: number, a1: number, b0: number, b1: number, depth: number): void => {
    let head = 0;
    while (a0 + head < a1 && b0 + head < b1 && a[a0 + head] === b[b0 + head]) head++;
    let tail = 0;
    while (a1 - tail > a0 + head && b1 - tail > b0 + head && a[a1 - tail - 1] === b[b1 - tail - 1]) tail++;
    push(head, 'same');
    const [x0, x1, y0, y1] = [a0 + head, a1 - tail, b0 + head, b1 - tail];
    // Each level looks at a part of the one above; a few levels find what there is to find, and
    // the bound keeps the work linear whatever the chains hold.
    const anchors = x0 < x1 && y0 < y1 && depth < MAX_ALIGN_DEPTH ? uniqueAnchors(a, x0, x1, b, y0, y1) : [];
    let [i, j] = [x0, y0];
    for (const [ai, bj] of anchors) {
      gap(i, ai, j, bj, depth);
      push(1, 'same');
      [i, j] = [ai + 1, bj + 1];
    }
    if (anchors.length === 0) {
      push(x1 - x0, 'removed');
      push(y1 - y0, 'added');
    } else gap(i, x1, j, y1, depth);
    push(tail, 'same');
  };
  // A gap between two anchors: aligned again, unless nothing in it can match.
  const gap = (a0: number, a1: number, b0: number, b1: number, depth: number): void => {
    if (a0 === a1 || b0 === b1) {
      push(a1 - a0, 'removed');
      push(b1 - b0, 'added');
    } else walk(a0, a1, b0, b1, depth + 1);
  };
  walk(0, a.length, 0, b.length, 0);
  return out;
}

/** Pairs (i, j) of keys found once in a[a0..a1) and once in b[b0..b1), equal, in their longest run increasing in both. */
function uniqueAnchors(a: readonly string[], a0: number, a1: number, b: readonly string[], b0: number, b1: number): [number, number][] {
  const once = (xs: readonly string[], x0: number, x1: number): Map<string, number> => {
    const at = new Map<string, number>();
    for (let k = x0; k < x1; k++) at.set(xs[k]!, at.has(xs[k]!) ? -1 : k);
    return at;
  };
  const inA = once(a, a0, a1);
  const inB = once(b, b0, b1);
  const pairs: [number, number][] = [];
  for (let k = a0; k < a1; k++) {
    const j = inB.get(a[k]!);
    if (j !== undefined && j >= 0 && inA.get(a[k]!) === k) pairs.push([k, j]);
  }
  // Longest increasing subsequence of the pairs by j (they are in order of i): patience sorting.
  const tops: number[] = [];
  const before = new Array<number>(pairs.length);
  for (let p = 0; p < pairs.length; p++) {
    const j = pairs[p]![1];
    let lo = 0;
    let hi = tops.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pairs[tops[mid]!]![1] < j) lo = mid + 1;
      else hi = mid;
    }
    before[p] = lo > 0 ? tops[lo - 1]! : -1;
    tops[lo] = p;
  }
  const run: [number, number][] = [];
  for (let p = tops.length > 0 ? tops[tops.length - 1]! : -1; p >= 0; p = before[p]!) run.push(pairs[p]!);
  return run.reverse();
}

const NEW = statesOf('NEW');
const TRACKED = statesOf('ESTABLISHED', 'RELATED');
const NO_CONNECTION = statesOf('INVALID', 'UNTRACKED');

/**
 * The packets of the touched boxes as they enter a path: a new connection is not yet translated
 * (its original destination is its own), nor is a packet of no connection (INVALID, UNTRACKED:
 * `--ctstate DNAT` never matches it); an established or related one may belong to a translated
 * connection.
 */
function entryParts(boxes: readonly Box[], family: Family): Box[] {
  const out: Box[] = [];
  // Boxes apart only in what nat did to them (a hidden redirect target's, a port forward's) meet
  // once that is set aside: those are made disjoint from the rest again, or the same packets
  // came out as two rows. The others cannot meet (their nat dimensions hold every value).
  const natShaped: Box[] = [];
  const only = (box: Box, states: IntervalSet): Box | null => intersectBox(box, withStates(box, states));
  const u = everything(family);
  for (const box of boxes) {
    const untouched = NAT_DIMS.every((d) => box[d] === u[d] || sameValues(box[d]!, u[d]!));
    const fresh = only(box, NEW);
    if (fresh) (untouched ? out : natShaped).push(untranslated(fresh));
    const tracked = only(box, TRACKED);
    if (tracked) out.push(tracked);
    const none = only(box, NO_CONNECTION);
    if (none) (untouched ? out : natShaped).push(untranslated(none));
  }
  if (natShaped.length === 0) return out;
  const index = new BoxIndex<Box>(family);
  for (const box of out) index.add(box, index.keysOf(box));
  for (const box of natShaped) out.push(...outsideOf(index, box));
  return out;
}
const NAT_DIMS = [DIM.dnat, DIM.origdst, DIM.origdport] as const;

/** Changes of one family and path as connections, joined where they differ in one dimension. */
const merged = (changes: readonly Change[], family: Family): Change[] =>
  joinBoxes(byRule(changes).map((c) => ({ ...c, box: plainConnection(c.box, family) })), (c) => `${c.before} ${c.after}`);

/**
 * Changes in the order of the rules that decide them (a stable sort; the default policy's last):
 * a joined row names its first change's rule, and the pieces of a joined walk come in the order
 * the walk met them, not the order of the rules that changed.
 */
function byRule(changes: readonly Change[]): Change[] {
  const at = (c: Change): readonly [string, number, number] => {
    const loc = c.rule && c.rule.origin.path.length > 0 ? c.rule.origin.loc : undefined;
    return loc ? [loc.file, loc.line, loc.col] : ['\uffff', 0, 0];
  };
  return changes
    .map((c, i) => ({ c, i, k: at(c) }))
    .sort((x, y) => (x.k[0] < y.k[0] ? -1 : x.k[0] > y.k[0] ? 1 : x.k[1] - y.k[1] || x.k[2] - y.k[2] || x.i - y.i))
    .map((x) => x.c);
}
