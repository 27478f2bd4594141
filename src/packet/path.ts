import { familyRecord } from '../model/family.js';
import { HELPERS, isHelperName } from '../model/helpers.js';
import { assertNever, type Chain, type Family, type IR, type Match, type Rule, type Ruleset, type Table, type TableName, type Target } from '../model/ir.js';
import { readAddress } from '../values/addresses.js';
import { chainGraph } from './chain-graph.js';
import { IndexedChain, type Dead, type JumpBatch, type RuleBox, type Undecided } from './index/chain-index.js';
import type { Run } from './run.js';
import { intersect, intersects, normalizeSet, subtract, unite, type IntervalSet } from '../values/intervals.js';
import { setContents } from './sets.js';
import { boxesIntersect, everything, intersectBox, boxOf, subtractBox, ifaceSet, newPackets, DIM, STATES, type Box, type SetContents, copyBox } from './space.js';

/** The built-in chains, which the kernel calls at its hooks. */
export type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/** The tables at each hook, in the order the kernel calls them (netfilter priorities). */
export const TABLES_AT: Readonly<Record<Hook, readonly TableName[]>> = {
  PREROUTING: ['raw', 'mangle', 'nat'],
  INPUT: ['mangle', 'filter', 'nat'],
  FORWARD: ['mangle', 'filter'],
  OUTPUT: ['raw', 'mangle', 'nat', 'filter'],
  POSTROUTING: ['mangle', 'nat'],
};

/** The hooks a packet crosses: to this host, through it, or from it. */
export const PATHS = { in: ['PREROUTING', 'INPUT'], forward: ['PREROUTING', 'FORWARD', 'POSTROUTING'], out: ['OUTPUT', 'POSTROUTING'] } as const satisfies Record<string, readonly Hook[]>;

/**
 * A packet this host sends to itself (out on lo) comes back in on lo after POSTROUTING, and meets
 * PREROUTING and INPUT as well: a rule of INPUT (a hidden redirect target) refuses it there. Its
 * connection is already tracked (conntrack attached it in OUTPUT and lo keeps it), so nat is not
 * consulted again (both its translations were settled on the way out) and raw's CT targets leave
 * it as it is (xt_CT ignores a packet that has a connection); mangle and filter see it.
 */
const LOOPED: readonly Hook[] = ['OUTPUT', 'POSTROUTING', 'PREROUTING', 'INPUT'];
const LOOPED_TABLES: Readonly<Partial<Record<Hook, readonly TableName[]>>> = { PREROUTING: ['mangle'], INPUT: ['mangle', 'filter'] };
export const LO = ifaceSet('lo');

/**
 * What finally happens to a set of packets in one chain walk. `translate`: a nat or raw target
 * that ends the chain walk and changes what later tables see (REDIRECT, DNAT, SNAT, MASQUERADE,
 * CT); the deciding rule's target says how (`translate`).
 */
export type WalkVerdict = 'accept' | 'drop' | 'reject' | 'translate';

/** The targets that change what later tables see, each saying whether it changes where the connection goes. */
const TRANSLATION_KINDS = { redirect: 'destination', dnat: 'destination', snat: 'source', masquerade: 'source', notrack: 'state', helper: 'helper' } as const;
type TranslationTarget = Extract<Target, { readonly kind: keyof typeof TRANSLATION_KINDS }>;
const TRANSLATIONS: ReadonlySet<string> = new Set(Object.keys(TRANSLATION_KINDS));
export const isTranslation = (t: Target): t is TranslationTarget => TRANSLATIONS.has(t.kind);
/** A redirect or a DNAT: what changes where a connection goes (and so which rules it meets). */
export const changesDestination = (t: Target): t is Extract<TranslationTarget, { readonly kind: 'redirect' | 'dnat' }> => isTranslation(t) && TRANSLATION_KINDS[t.kind] === 'destination';
/** A SNAT or a MASQUERADE: what changes the source (which only a packet back in on lo shows to a rule). */
export const changesSource = (t: Target): t is Extract<TranslationTarget, { readonly kind: 'snat' | 'masquerade' }> => isTranslation(t) && TRANSLATION_KINDS[t.kind] === 'source';

export type { Dead, RuleBox, Undecided };

/** What a walk meets, in order: for one packet, the whole story explain tells. */
export type TraceEvent =
  | { readonly kind: 'table'; readonly hook: Hook; readonly table: TableName }
  /** A rule the packets match; `limited`: a rate limit, taken as not exceeded (the rule passes them on). */
  | { readonly kind: 'rule'; readonly chain: string; readonly rule: Rule; readonly limited: boolean }
  | { readonly kind: 'policy'; readonly chain: string; readonly verdict: 'accept' | 'drop' }
  /** nat sees only a connection's first packet; later ones follow what conntrack recorded. */
  | { readonly kind: 'not-new'; readonly chain: string }
  | { readonly kind: 'translated'; readonly target: Target }
  /**
   * RELATED packets: the helper rules whose control connections could have announced them
   * (`relatedBy`); none, and only an ICMP error about a connection is RELATED.
   */
  | { readonly kind: 'related'; readonly helpers: readonly Rule[] };
export type Trace = (e: TraceEvent) => void;
/**
 * Which decisions a walk reports (the deciding rule; undefined for a chain's policy): a question
 * about one rule's packets forgets the rest as soon as they are decided.
 */
export type Keep = ((rule: Rule | undefined, verdict: WalkVerdict) => boolean) & {
  /**
   * When set, the walk keeps exactly the decisions of these rules (`keepRules`): a run of
   * thousands of bans is then passed over by asking whether it holds one of them, not which of
   * its members each part meets (a search through all of them, for every question `show` asks).
   */
  readonly rules?: ReadonlySet<Rule>;
};

/** A Keep of the decisions of `rules` alone. */
export function keepRules(rules: ReadonlySet<Rule>): Keep {
  return Object.assign((r: Rule | undefined) => r !== undefined && rules.has(r), { rules });
}

export interface Decision {
  readonly box: Box;
  readonly verdict: WalkVerdict;
  /** The rules that decided (several: a run of like rules, such as a list of bans); none for a chain's policy. */
  readonly rules: readonly Rule[];
  /** The chain the deciding rule is in (or whose policy decided). */
  readonly chain: string;
}

/**
 * One family's rules as the kernel walks them: for a set of packets entering a hook of a table,
 * which rule decides each part of it (first match, through jumps and returns, down to the chain's
 * policy), and what nat does to a new connection's destination. Rules are visited only where
 * the index says their packets may meet the query, so a narrow question about a long chain
 * costs what its answer does. Rate limits are taken as not exceeded (the first packet of a flow).
 */
export class RulesetModel {
  readonly family: Family;
  private readonly chains = new Map<string, IndexedChain>();

  /**
   * `primaries`: the addresses that can be an interface's primary address, where a REDIRECT in
   * nat PREROUTING sends a connection (this host's addresses, when the policy lists them).
   */
  constructor(
    readonly ruleset: Ruleset,
    private readonly sets?: SetContents,
    readonly primaries: IntervalSet = everything(ruleset.family)[DIM.primary],
  ) {
    this.family = ruleset.family;
  }

  /** The same host's sets with other rules (the rules as the host reads an owner's name: see owners.ts). */
  with(ruleset: Ruleset): RulesetModel {
    return new RulesetModel(ruleset, this.sets, this.primaries);
  }

  /** A rule's box (the chains compute their own; this is for the few rules a check asks about). */
  box(rule: Rule): RuleBox {
    return boxOf(rule.matches, this.family, this.sets);
  }

  /** The box of a list of matches in this family (a test's connections, explain's packet). */
  boxOfMatches(matches: readonly Match[]): Box {
    return boxOf(matches, this.family, this.sets).box;
  }

  /**
   * The decisions of table `table` at `hook` for `query`; nat is consulted only for new
   * connections. `trace` hears every rule the packets meet (for one packet: explain).
   */
  decide(table: TableName, hook: Hook, query: Box, trace?: Trace, keep?: Keep): Decision[] {
    const t = this.ruleset.tables.find((x) => x.name === table);
    const builtin = t?.chains.find((c) => c.name === hook);
    // A coexisting policy that sets no policy for a hook declares no built-in chain there, but
    // its chains hooked into it (IPFENCE-DOCKER into FORWARD) still meet every packet.
    if (t === undefined || (builtin === undefined && chainGraph(t).entries(hook).length === 0)) return [{ box: query, verdict: 'accept', rules: NONE, chain: hook }];
    if (table !== 'nat') return this.walkHook(t, hook, builtin, [query], trace, keep);
    // Packets of established connections pass nat untouched (conntrack applies what it recorded).
    const later: Decision[] = subtractBox(query, newPackets(this.family)).map((box) => ({ box, verdict: 'accept', rules: NONE, chain: hook }));
    if (later.length > 0) trace?.({ kind: 'not-new', chain: hook });
    const fresh = intersectBox(query, newPackets(this.family));
    return fresh === null ? later : [...later, ...this.walkHook(t, hook, builtin, [fresh], trace, keep)];
  }

  /**
   * The rules (runs) of a hook's chains in one table that share packets with `box`, without
   * walking them: a cheap test before a walk.
   */
  meeting(table: TableName, hook: Hook, box: Box): { readonly box: Box; readonly verdict: WalkVerdict | 'other'; readonly rules: () => Rule[] }[] {
    const t = this.ruleset.tables.find((x) => x.name === table);
    const out: { box: Box; verdict: WalkVerdict | 'other'; rules: () => Rule[] }[] = [];
    const seen = new Set<string>();
    const visit = (name: string): void => {
      if (seen.has(name)) return;
      seen.add(name);
      const chain = this.indexed(table, name);
      if (chain === undefined) return;
      for (const i of chain.candidates(box)) {
        const e = chain.entries[i]!;
        if (!e.exact || !boxesIntersect(e.run.box, box)) continue;
        const k = e.run.members[0]!.rule.target;
        if (k.kind === 'jump') visit(k.chain);
        const verdict = k.kind === 'accept' || k.kind === 'drop' || k.kind === 'reject' ? k.kind : isTranslation(k) ? 'translate' : 'other';
        out.push({ box: e.run.box, verdict, rules: () => e.run.meeting(box).map((m) => m.rule) });
      }
    };
    if (t !== undefined) for (const c of chainGraph(t).entries(hook)) visit(c.name);
    return out;
  }

  /** The rules of a chain that never match, with what decides their packets first. */
  deadRules(table: TableName, name: string): readonly Dead[] {
    return this.indexed(table, name)?.dead ?? [];
  }

  /** The rules of a chain for which that could not be told within the work budget. */
  undecidedRules(table: TableName, name: string): readonly Undecided[] {
    return this.indexed(table, name)?.undecided ?? [];
  }

  /** A built-in chain with the chains hooked into it from outside the file (coexist), then its policy. */
  private walkHook(table: Table, hook: Hook, builtin: Chain | undefined, parts: Box[], trace: Trace | undefined, keep: Keep | undefined): Decision[] {
    const decided: Decision[] = [];
    for (const c of chainGraph(table).entries(hook)) {
      parts = this.walk(table.name, c.name, parts, decided, 0, trace, keep);
      if (parts.length === 0) return decided;
    }
    // Without a built-in chain of its own, the policy is the host's, taken to be ACCEPT as above.
    const verdict = builtin?.policy === 'DROP' ? 'drop' : 'accept';
    if (builtin !== undefined) trace?.({ kind: 'policy', chain: hook, verdict });
    if (keep && !keep(undefined, verdict)) return decided;
    for (const box of parts) decided.push({ box, verdict, rules: NONE, chain: hook });
    return decided;
  }

  /** Walks `parts` through a chain, adding what it decides to `decided`; returns what falls through or returns. */
  private walk(table: TableName, name: string, parts: Box[], decided: Decision[], depth: number, trace: Trace | undefined, keep: Keep | undefined): Box[] {
    const chain = this.indexed(table, name);
    if (chain === undefined || depth > 32) return parts;
    const seen = new Set<number>();
    const order: number[] = [];
    for (const p of parts) for (const i of chain.candidates(p)) if (!seen.has(i)) (seen.add(i), order.push(i));
    order.sort((a, b) => a - b);
    let live = parts;
    // RETURN, and falling off the end, both carry on in the caller.
    const back: Box[] = [];
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      const batch = trace === undefined ? chain.batchOf(i) : undefined;
      if (batch !== undefined && live.every((p) => withinBut(p, batch.box, batch.dim))) {
        live = this.walkBatch(table, name, chain, batch, i, live, decided, depth, keep);
        while (k + 1 < order.length && order[k + 1]! <= batch.last) k++;
        if (live.length === 0) break;
        if (live.length > MAX_PARTS) throw new WalkTooLarge(name);
        if (decided.length > MAX_OUTCOMES) throw new WalkTooLarge(name, true);
        continue;
      }
      const entry = chain.entries[i]!;
      if (!entry.exact) {
        if (trace) for (const p of live) for (const m of entry.run.meeting(p)) trace({ kind: 'rule', chain: name, rule: m.rule, limited: true });
        continue;
      }
      const { box } = entry.run;
      const rule = entry.run.members[0]!.rule;
      const next: Box[] = [];
      // LOG and MARK decide nothing and change nothing the model knows: the packets carry on
      // whole. Split at each, they multiplied (show's queries met every mark of a policy).
      const passes = rule.target.kind === 'log' || rule.target.kind === 'mark';
      for (const p of live) {
        const hit = passes && !trace ? (boxesIntersect(p, box) ? p : null) : intersectBox(p, box);
        if (hit === null || passes) {
          if (hit !== null) trace?.({ kind: 'rule', chain: name, rule: entry.run.members.length === 1 ? rule : entry.run.meeting(hit)[0]!.rule, limited: false });
          next.push(p);
          continue;
        }
        next.push(...subtractBox(p, box));
        // A run's members decide alike: of those a packet matches, the first is the one it meets.
        if (trace) trace({ kind: 'rule', chain: name, rule: entry.run.members.length === 1 ? rule : entry.run.meeting(hit)[0]!.rule, limited: false });
        const t = rule.target;
        switch (t.kind) {
          case 'accept':
          case 'drop':
          case 'reject': {
            if (keep?.rules !== undefined && entry.run.members.length > 1 && !chain.holdsAny(i, keep.rules)) break;
            if (entry.run.members.length === 1) {
              if (keep === undefined || keep(rule, t.kind)) decided.push({ box: hit, verdict: t.kind, rules: [rule], chain: name });
              break;
            }
            const decision = new RunDecision(hit, t.kind, name, entry.run);
            if (keep === undefined || decision.rules.some((r) => keep(r, t.kind))) decided.push(decision);
            break;
          }
          // nat's targets end its walk. So do raw's CT targets in effect: the first one to match
          // attaches its template, and a later one leaves a packet that has one as it is.
          case 'redirect':
          case 'dnat':
          case 'snat':
          case 'masquerade':
          case 'notrack':
          case 'helper':
            decided.push({ box: hit, verdict: 'translate', rules: entry.run.members.length === 1 ? [rule] : entry.run.meeting(hit).map((m) => m.rule), chain: name });
            break;
          case 'return':
            back.push(hit);
            break;
          case 'jump':
            next.push(...this.walk(table, t.chain, [hit], decided, depth + 1, trace, keep));
            break;
          default:
            assertNever(t);
        }
      }
      live = next;
      if (decided.length > MAX_OUTCOMES) throw new WalkTooLarge(name, true);
      if (live.length === 0) break;
      if (live.length > MAX_PARTS) throw new WalkTooLarge(name);
    }
    return [...live, ...back];
  }

  /**
   * The parts `live` through a batch of jumps (see JumpBatch), each part inside the batch's box
   * but in its one dimension: what walking past each jump in turn gives, in the same order. The
   * jumps' decisions come jump by jump, and each part is followed by what came back from the
   * chains it entered, the last jump's first. Jumps before `from` were walked already.
   */
  private walkBatch(table: TableName, name: string, chain: IndexedChain, batch: JumpBatch, from: number, live: readonly Box[], decided: Decision[], depth: number, keep: Keep | undefined): Box[] {
    const { dim, byValue } = batch;
    const byEntry = new Map<number, number[]>();
    for (let p = 0; p < live.length; p++) {
      const met = new Set<number>();
      for (const [lo, hi] of live[p]![dim]!) {
        // The first value ending at or above lo, then on while they start at or below hi.
        let a = 0;
        let b = byValue.length;
        while (a < b) {
          const mid = (a + b) >> 1;
          if (byValue[mid]!.hi < lo) a = mid + 1;
          else b = mid;
        }
        for (let v = a; v < byValue.length && byValue[v]!.lo <= hi; v++) if (byValue[v]!.entry >= from) met.add(byValue[v]!.entry);
      }
      for (const e of met) {
        const list = byEntry.get(e);
        if (list === undefined) byEntry.set(e, [p]);
        else if (list[list.length - 1] !== p) list.push(p);
      }
    }
    const returned: Box[][][] = live.map(() => []);
    // Bounded as it goes: thousands of parts, each through thousands of jumps, came back as
    // millions of pieces before the walk's own bound was asked (gigabytes, then out of memory).
    let back = 0;
    for (const e of [...byEntry.keys()].sort((a, b) => a - b)) {
      const entry = chain.entries[e]!;
      const t = entry.run.members[0]!.rule.target;
      if (t.kind !== 'jump') continue;
      for (const p of byEntry.get(e)!) {
        const hit = intersectBox(live[p]!, entry.run.box);
        if (hit === null) continue;
        const came = this.walk(table, t.chain, [hit], decided, depth + 1, undefined, keep);
        returned[p]!.push(came);
        if ((back += came.length) > MAX_PARTS) throw new WalkTooLarge(name);
        if (decided.length > MAX_OUTCOMES) throw new WalkTooLarge(name, true);
      }
    }
    const next: Box[] = [];
    for (let p = 0; p < live.length; p++) {
      const came = returned[p]!;
      if (came.length === 0) {
        next.push(live[p]!);
        continue;
      }
      next.push(...subtractBox(live[p]!, batch.box));
      for (let r = came.length - 1; r >= 0; r--) next.push(...came[r]!);
    }
    return next;
  }

  private named: Map<string, Chain> | undefined;
  /** Chains by table and name: a policy with thousands of users has thousands of chains. */
  private byName(): Map<string, Chain> {
    return (this.named ??= new Map(this.ruleset.tables.flatMap((t) => t.chains.map((c) => [`${t.name} ${c.name}`, c] as const))));
  }

  private indexed(table: TableName, name: string): IndexedChain | undefined {
    const key = `${table} ${name}`;
    let hit = this.chains.get(key);
    if (hit === undefined) {
      const chain = this.byName().get(key);
      if (chain === undefined) return undefined;
      hit = new IndexedChain(chain, this.family, (r) => this.box(r));
      this.chains.set(key, hit);
    }
    return hit;
  }
}


const RELATED = BigInt(STATES.indexOf('RELATED'));
const CT_HOOKS = ['PREROUTING', 'OUTPUT'] as const;

/**
 * What conntrack helpers can make RELATED: for each helper rule, the control connections it
 * attaches to (those raw's walk gives to it, at PREROUTING and OUTPUT: an earlier CT target
 * keeps its own), and from them the connections the helper may announce, as data
 * (`HELPERS`): between the control connection's two ends, either way, or from anyone to its
 * client, in the helper's protocols, on any port and interface. A superset: what a helper
 * announces is narrower (one port, one direction), and NAT helpers may move it.
 */
function relatedBoxes(model: RulesetModel): readonly { readonly rule: Rule; readonly box: Box }[] {
  const hit = RELATED_BOXES.get(model);
  if (hit !== undefined) return hit;
  const out: { rule: Rule; box: Box }[] = [];
  const all = everything(model.family);
  for (const d of helperDecisions(model, all)) {
    const rule = d.rules[0];
    if (d.verdict !== 'translate' || rule === undefined || rule.target.kind !== 'helper' || !isHelperName(rule.target.helper)) continue;
    const h = HELPERS[rule.target.helper];
    const protos: IntervalSet = h.relatedProtos.map((p) => [BigInt(p), BigInt(p)] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const related = (src: IntervalSet, dst: IntervalSet): Box => {
      const b = copyBox(all);
      b[DIM.src] = src;
      b[DIM.dst] = dst;
      b[DIM.proto] = protos;
      b[DIM.state] = [[RELATED, RELATED]];
      return b;
    };
    const client = d.box[DIM.src];
    const server = d.box[DIM.dst];
    if (h.relatedFrom === 'peers') out.push({ rule, box: related(client, server) }, { rule, box: related(server, client) });
    else out.push({ rule, box: related(all[DIM.src], client) });
  }
  RELATED_BOXES.set(model, out);
  return out;
}
const RELATED_BOXES = new WeakMap<RulesetModel, readonly { readonly rule: Rule; readonly box: Box }[]>();

/**
 * raw's decisions at both CT hooks. A raw table too long to walk whole (thousands of notrack
 * entries) gives each helper rule its own box instead: a superset, as the answer already is.
 */
function helperDecisions(model: RulesetModel, all: Box): readonly Decision[] {
  try {
    return CT_HOOKS.flatMap((hook) => model.decide('raw', hook, all));
  } catch (e) {
    if (!(e instanceof WalkTooLarge)) throw e;
    const raw = model.ruleset.tables.find((t) => t.name === 'raw');
    return (raw?.chains ?? []).flatMap((c) => c.rules.filter((r) => r.target.kind === 'helper').map((r) => ({ box: model.box(r).box, verdict: 'translate' as const, rules: [r], chain: c.name })));
  }
}

/** The helper rules whose control connections could announce packets of `box` as RELATED. */
export function relatedBy(model: RulesetModel, box: Box): readonly Rule[] {
  const rules: Rule[] = [];
  for (const r of relatedBoxes(model)) if (!rules.includes(r.rule) && boxesIntersect(r.box, box)) rules.push(r.rule);
  return rules;
}

/** The model of each family of an IR, built once and shared by the checks. */
const MODELS = new WeakMap<IR, readonly RulesetModel[]>();
export function modelsOf(ir: IR): readonly RulesetModel[] {
  let hit = MODELS.get(ir);
  if (hit === undefined) MODELS.set(ir, (hit = ir.rulesets.map((rs) => new RulesetModel(rs, setContents(ir, rs.family), primariesOf(ir, rs.family)))));
  return hit;
}

/** The addresses an interface's primary address can be: `host.addresses` of the family, else any. */
function primariesOf(ir: IR, family: Family): IntervalSet | undefined {
  const own = ir.hostAddresses?.[family];
  if (own === undefined || own.length === 0) return undefined;
  const blocks = own.map((text) => readAddress(text)).flatMap((a) => (typeof a === 'string' ? [] : [a.interval]));
  return blocks.length === 0 ? undefined : normalizeSet(blocks);
}

const NONE: readonly Rule[] = [];

/**
 * A run's decision, its rules (the members the packets meet) found when first asked: a path
 * wants only the first, and finding every ban of a row of thousands that a question about any
 * source meets, once per question, made a diff of every rule quadratic.
 */
class RunDecision implements Decision {
  private all: readonly Rule[] | undefined;
  constructor(
    readonly box: Box,
    readonly verdict: WalkVerdict,
    readonly chain: string,
    private readonly run: Run<Rule>,
  ) {}

  get rules(): readonly Rule[] {
    return (this.all ??= this.run.meeting(this.box).map((m) => m.rule));
  }

  get first(): Rule | undefined {
    return this.all === undefined ? this.run.firstMeeting(this.box)?.rule : this.all[0];
  }
}

/** The rule that decided: the first of a decision's rules. */
const firstRule = (d: Decision): Rule | undefined => (d instanceof RunDecision ? d.first : d.rules[0]);

/** More pieces than this in one walk: a question too broad for these rules to answer exactly. */
const MAX_PARTS = 50_000;
/**
 * More outcomes than this from one question (decided pieces pile up, chain after chain, while
 * MAX_PARTS bounds only those still walking): a diff of outbound denies under hundreds of users
 * and local redirects gathered 126,000 per walk, 1.6 GB, and at four times the policy ran out of
 * memory after minutes.
 */
const MAX_OUTCOMES = 50_000;
export class WalkTooLarge extends Error {
  constructor(
    readonly chain: string,
    decided = false,
  ) {
    super(decided ? `the packets asked about end in more than ${MAX_OUTCOMES.toLocaleString('en')} pieces by chain ${chain}` : `the packets asked about split into more than ${MAX_PARTS.toLocaleString('en')} pieces in chain ${chain}`);
  }
}


/**
 * What REDIRECT does to a new connection's port: it becomes the target, and conntrack records it
 * as DNAT with the original port and address. Its address is the hook's (`translateAt`): the
 * loopback address in OUTPUT, the incoming interface's primary address in PREROUTING.
 */
export function redirected(box: Box, toPort: number): Box {
  const out = copyBox(box);
  out[DIM.origdport] = box[DIM.dport];
  out[DIM.origdst] = box[DIM.dst];
  out[DIM.dport] = [[BigInt(toPort), BigInt(toPort)]];
  out[DIM.dnat] = [[1n, 1n]];
  return out;
}

/** What DNAT does to a new connection: its destination (and port, if given) become the target's. */
function dnatted(box: Box, to: string, toPort: number | undefined): Box {
  const out = copyBox(box);
  const a = readAddress(to);
  out[DIM.origdport] = box[DIM.dport];
  out[DIM.origdst] = box[DIM.dst];
  if (typeof a !== 'string') out[DIM.dst] = [[a.interval[0], a.interval[0]]];
  if (toPort !== undefined) out[DIM.dport] = [[BigInt(toPort), BigInt(toPort)]];
  out[DIM.dnat] = [[1n, 1n]];
  return out;
}

const UNTRACKED = BigInt(STATES.indexOf('UNTRACKED'));

/**
 * What a translation may make of `box` at whichever hook it runs: a REDIRECT sends a connection
 * to the hook's own address (loopback in OUTPUT, the incoming interface's primary address in
 * PREROUTING), so here to any address. A superset, for asking which rules the moved connections
 * may meet: kept at its destination, a rule of the address a redirect really gives (its
 * `local-address` aside) was never asked by show or followed by diff.
 */
export function translatedAnywhere(t: TranslationTarget, box: Box, family: Family): Box {
  const out = copyBox(translate(t, box));
  if (t.kind === 'redirect') out[DIM.dst] = everything(family)[DIM.dst];
  return out;
}

/** A translation's packets as the tables after it see them. */
export function translate(t: TranslationTarget, box: Box): Box {
  switch (t.kind) {
    case 'redirect':
      return redirected(box, t.toPort);
    case 'dnat':
      return dnatted(box, t.to, t.toPort);
    case 'notrack': {
      const out = copyBox(box);
      out[DIM.state] = [[UNTRACKED, UNTRACKED]];
      return out;
    }
    // The source a reply goes back to changes, which no later table of the path looks at.
    case 'snat':
    case 'masquerade':
    case 'helper':
      return box;
    default:
      return assertNever(t);
  }
}

/**
 * REDIRECT sends a connection to this host by rewriting its destination: in nat OUTPUT to the
 * loopback address, in PREROUTING to the primary address of the interface it came in by (the
 * kernel's nf_nat_redirect: IPv4's first address of the interface; IPv6's first of the
 * destination's scope), whatever address it was sent to: a secondary address, or another host
 * routed through this one. Which address that is only the host knows, so the destination becomes
 * the packet's `primary` dimension, narrowed to what it can be (this host's addresses where the
 * policy lists them; a link-local IPv6 destination gets a link-local address); the rules after
 * it split the packets by it where they look at the destination. Null: no such address.
 */
function translateAt(model: RulesetModel, hook: Hook, t: TranslationTarget, box: Box): Box | null {
  // Sent out lo, a packet comes back in with the source SNAT or MASQUERADE gave it, and INPUT
  // judges that one (see LOOPED): SNAT's address; MASQUERADE's is the one lo's route gives, the
  // local address it was sent to (a superset where it was sent to several).
  if (changesSource(t) && hook === 'POSTROUTING' && boxesIntersect(box, outLo(box))) {
    const out = copyBox(box);
    const a = t.kind === 'snat' ? readAddress(t.to) : undefined;
    out[DIM.src] = a === undefined || typeof a === 'string' ? box[DIM.dst] : [a.interval];
    return out;
  }
  const moved = translate(t, box);
  if (t.kind !== 'redirect' || (hook !== 'OUTPUT' && hook !== 'PREROUTING')) return moved;
  const out = copyBox(moved);
  if (hook === 'OUTPUT') {
    const lo = readAddress(familyRecord(model.family).loopback);
    if (typeof lo !== 'string') out[DIM.dst] = [[lo.interval[0], lo.interval[0]]];
    return out;
  }
  const primary = intersect(box[DIM.primary], primariesFor(model, box[DIM.dst]));
  if (primary.length === 0) return null;
  out[DIM.dst] = out[DIM.primary] = primary;
  return out;
}

function linkLocalOf(f: Family): IntervalSet {
  const prefix = familyRecord(f).linkLocal;
  const a = prefix === null ? '' : readAddress(prefix);
  return typeof a === 'string' ? [] : [a.interval];
}
const LINK_LOCAL: Readonly<Record<Family, IntervalSet>> = { ipv4: linkLocalOf('ipv4'), ipv6: linkLocalOf('ipv6') };

/**
 * The addresses a redirect in PREROUTING can give packets sent to `dst`. The kernel (since 6.6)
 * takes an IPv6 interface's first address of the destination's scope: a link-local destination
 * gets a link-local address, which `host.addresses` does not list.
 */
function primariesFor(model: RulesetModel, dst: IntervalSet): IntervalSet {
  const linkLocal = LINK_LOCAL[model.family];
  if (!intersects(dst, linkLocal)) return model.primaries;
  return subtract(dst, linkLocal).length === 0 ? linkLocal : unite(model.primaries, linkLocal);
}

/**
 * Where a connection translated in PREROUTING is routed: a redirect delivers it to this host,
 * DNAT to another host (a port forward), whatever it was sent to.
 */
const ROUTED_TO: Partial<Record<TranslationTarget['kind'], 'in' | 'forward'>> = { redirect: 'in', dnat: 'forward' };

/**
 * A connection as the author of a filter rule imagines it: new, and not translated, so its
 * original destination and port are its own.
 */
export function untranslated(box: Box): Box {
  const out = copyBox(box);
  out[DIM.dnat] = [[0n, 0n]];
  out[DIM.origdport] = box[DIM.dport];
  out[DIM.origdst] = box[DIM.dst];
  return out;
}

/** Where a set of packets ends up after every hook of its path. */
export interface Outcome {
  readonly box: Box;
  /** The same packets as they entered the path (before a redirect or DNAT changed their destination). */
  readonly entry: Box;
  readonly verdict: 'accept' | 'drop' | 'reject';
  /** The rules that decided, in the order met (translations included); none where every policy accepted. */
  readonly rules: readonly Rule[];
  /** Where a drop or reject was made: its hook (a connection on lo meets OUTPUT's and INPUT's policies). */
  readonly at?: Hook;
}

/**
 * The packets of `after` (some of what a translation made of `before`) as they were before it:
 * conntrack keeps a translated connection's original destination and port, so they are its own
 * again; a notracked packet had its state.
 */
function undoTranslation(t: TranslationTarget, before: Box, after: Box, primary: boolean): Box {
  if (after === before) return after;
  const out = copyBox(after);
  if (changesDestination(t)) {
    out[DIM.dport] = after[DIM.origdport];
    out[DIM.dst] = after[DIM.origdst];
    out[DIM.dnat] = before[DIM.dnat];
    // A redirect in PREROUTING sent them to their interface's primary address: the addresses
    // they reached are what their fate assumed it to be.
    if (primary) out[DIM.primary] = after[DIM.dst];
  } else if (changesSource(t)) out[DIM.src] = before[DIM.src];
  else out[DIM.state] = before[DIM.state];
  return out;
}

/**
 * A set of packets along its path (to this host, through it, from it): each hook's tables in
 * kernel order, a translation carried on to the tables after it, and the first table that drops
 * or rejects ending the path. A connection redirected or DNATed in PREROUTING takes the path of
 * where it now goes (INPUT, or FORWARD and POSTROUTING).
 */
export function followPath(model: RulesetModel, path: keyof typeof PATHS, box: Box, trace?: Trace, keep?: Keep): Outcome[] {
  interface Part {
    readonly box: Box;
    readonly rules: Rule[];
    /** The translations met, each with the packets it was given: undone in reverse for `entry`. */
    readonly undo: readonly { readonly t: TranslationTarget; readonly before: Box; readonly primary: boolean }[];
    readonly path: keyof typeof PATHS | 'looped';
    /** A packet this host sent itself, back in on lo: the input interfaces it had before (see LOOPED). */
    readonly loopedFrom?: IntervalSet;
    /** A packet asked about in on lo, followed from OUTPUT: the output interfaces it was asked with. */
    readonly askedOut?: IntervalSet;
  }
  const hooks = (p: Part): readonly Hook[] => (p.path === 'looped' ? LOOPED : PATHS[p.path]);
  // A packet in on lo is one this host sent itself: it met OUTPUT first, and nat in PREROUTING
  // never (its connection was tracked on the way out). Walked from PREROUTING, a redirect or port
  // forward took it that the kernel never applies, and OUTPUT's drop went unseen.
  const sent = path === 'in' ? intersectBox(box, inLo(box)) : null;
  let parts: Part[] = [{ box, rules: [], undo: [], path }];
  if (sent !== null) {
    const out = copyBox(sent);
    out[DIM.out] = LO;
    parts = [...subtractBox(box, sent).map((rest) => ({ box: rest, rules: [], undo: [], path })), { box: out, rules: [], undo: [], path: 'out', askedOut: sent[DIM.out] }];
  }
  const done: Outcome[] = [];
  // Packets that are all RELATED (explain's, of that state): what could have made them so.
  if (trace && box[DIM.state].length === 1 && box[DIM.state][0]![0] === RELATED && box[DIM.state][0]![1] === RELATED) trace({ kind: 'related', helpers: relatedBy(model, box) });
  const outcome = (p: Part, verdict: Outcome['verdict'], at?: Hook): Outcome => {
    let entry = p.box;
    for (let i = p.undo.length - 1; i >= 0; i--) entry = undoTranslation(p.undo[i]!.t, p.undo[i]!.before, entry, p.undo[i]!.primary);
    if (p.loopedFrom !== undefined || p.askedOut !== undefined) {
      const was = copyBox(entry);
      if (p.loopedFrom !== undefined) was[DIM.in] = p.loopedFrom;
      if (p.askedOut !== undefined) was[DIM.out] = p.askedOut;
      entry = was;
    }
    return { box: p.box, entry, verdict, rules: p.rules, ...(at === undefined ? {} : { at }) };
  };
  // Every path starts at PREROUTING or OUTPUT; parts that were routed elsewhere go on along their own.
  for (let step = 0; parts.length > 0; step++) {
    // What leaves by lo comes back in: on along the looped path, whose next hook is PREROUTING.
    parts = parts.flatMap((p) => {
      const lo = p.path === 'out' && PATHS.out[step] === undefined ? intersectBox(p.box, outLo(p.box)) : null;
      if (lo === null) return [p];
      const back = copyBox(lo);
      back[DIM.in] = LO;
      return [...subtractBox(p.box, lo).map((rest) => ({ ...p, box: rest })), { ...p, box: back, path: 'looped' as const, loopedFrom: lo[DIM.in] }];
    });
    const next: Part[] = [];
    const key = (p: Part): string => `${hooks(p)[step]} ${p.path === 'looped'}`;
    for (const k of new Set(parts.map(key))) {
      let here = parts.filter((p) => key(p) === k);
      const hook = hooks(here[0]!)[step];
      if (hook === undefined) {
        for (const p of here) done.push(outcome(p, 'accept'));
        continue;
      }
      const tables = here[0]!.path === 'looped' ? LOOPED_TABLES[hook]! : TABLES_AT[hook];
      for (const table of tables) {
        const after: Part[] = [];
        if (here.length > 0) trace?.({ kind: 'table', hook, table });
        for (const p of here) {
          // Only filter decides (nat and mangle never drop): decisions the question does not want
          // are forgotten there. Not OUTPUT's accepts of what leaves by lo: INPUT has its say on them.
          const forget = table === 'filter' && !(p.path === 'out' && boxesIntersect(p.box, outLo(p.box)));
          for (const d of model.decide(table, hook, p.box, trace, forget ? keep : undefined)) {
            const first = firstRule(d);
            const rules = first === undefined ? p.rules : [...p.rules, first];
            const t = first?.target;
            if (d.verdict === 'drop' || d.verdict === 'reject') done.push(outcome({ ...p, box: d.box, rules }, d.verdict, hook));
            else if (d.verdict === 'translate' && t !== undefined && isTranslation(t)) {
              trace?.({ kind: 'translated', target: t });
              const moved = translateAt(model, hook, t, d.box);
              if (moved === null) continue;
              const routed = hook === 'PREROUTING' ? ROUTED_TO[t.kind] ?? p.path : p.path;
              const primary = hook === 'PREROUTING' && t.kind === 'redirect';
              after.push({ ...p, box: moved, rules, undo: moved === d.box ? p.undo : [...p.undo, { t, before: d.box, primary }], path: routed });
            } else after.push({ ...p, box: d.box, rules });
          }
          // Per part, not per table: each part's walk is bounded on its own, and two thousand
          // parts (a redirect's ports and the gaps between them) through a thousand users' chains
          // held two million pieces before the table's end was reached (out of memory).
          if (done.length + after.length > MAX_OUTCOMES) throw new WalkTooLarge(hook, true);
        }
        here = after;
        if (done.length + here.length > MAX_OUTCOMES) throw new WalkTooLarge(hook, true);
      }
      next.push(...here);
    }
    parts = next;
  }
  return done;
}

/** Whether `box` is inside `outer` in every dimension but `dim`. */
function withinBut(box: Box, outer: Box, dim: number): boolean {
  for (let d = 0; d < box.length; d++) if (d !== dim && box[d] !== outer[d] && subtract(box[d]!, outer[d]!).length > 0) return false;
  return true;
}

/** Every packet of `box` whose input interface is lo. */
export function inLo(box: Box): Box {
  const b = copyBox(box);
  b[DIM.in] = LO;
  return b;
}

/** Every packet of `box` whose output interface is lo. */
export function outLo(box: Box): Box {
  const b = copyBox(box);
  b[DIM.out] = LO;
  return b;
}
