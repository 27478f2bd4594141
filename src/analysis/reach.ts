import type { Direction, Family, Rule, Fate } from '../model/ir.js';
import { BoxIndex, outsideOf } from '../packet/index/box-index.js';
import { joinBoxes, plainConnection, realized } from './describe.js';
import { sameValues } from '../packet/set-ids.js';
import { decidingRule } from './explain.js';
import { fromTheNetwork } from './intent.js';
import { chainGraph } from '../packet/chain-graph.js';
import { changesDestination, followPath, keepRules, outLo, translatedAnywhere, untranslated, WalkTooLarge, type Hook, type Outcome, type RulesetModel } from '../packet/path.js';
import { DIM, everything, intersectBox, newConnections, type Box, copyBox } from '../packet/space.js';

/** A translation that moved a connection to another hook's rules: a redirect to this host, a DNAT on through it. */
export type Moved = 'redirect' | 'dnat';
/** The translation that takes a connection off each path's filter hook. */
const MOVES: Readonly<Record<Direction, Moved>> = { in: 'dnat', forward: 'redirect', out: 'redirect' };

/** What a family's rules do to new connections along one path: a default, and its exceptions. */
export interface Reach {
  readonly family: Family;
  readonly direction: Direction;
  /** What happens to a connection no rule of its own decides (the policy, or a rule that takes all). */
  readonly fallback: Fate;
  /**
   * Every connection with another fate, as few boxes as describe them, with the fate; `moved`
   * where a translation took the connection off this path (see `followedWhole`), by which kind.
   */
  readonly rows: readonly { readonly box: Box; readonly verdict: Fate; readonly moved?: Moved }[];
  /** The connections asked about (every new one; not on loopback unless a row is): what the boxes are said against. */
  readonly start: Box;
  /** This host's connections to itself are not all accepted, and too many pieces to list (see `loopback`). */
  readonly loopbackUnlisted?: true;
}

const FILTER_HOOK: Readonly<Record<Direction, Hook>> = { in: 'INPUT', out: 'OUTPUT', forward: 'FORWARD' };
const NAT_HOOK: Readonly<Record<Direction, Hook | undefined>> = { in: 'PREROUTING', out: 'OUTPUT', forward: 'PREROUTING' };
const FATES = new Set<string>(['accept', 'drop', 'reject']);

/**
 * What is reachable: the fate of every new connection from (or to) the network, to this host,
 * from it and through it, and what this host makes to itself (see `loopback`). Walking every
 * connection through a long chain would split it at every rule; instead each rule whose verdict
 * differs from the fallback is asked about its own packets (and those a redirect brings to it),
 * keeping the parts it decides. Each packet has one deciding rule, so the parts are disjoint,
 * and together they are exactly the connections whose fate is not the fallback.
 */
export function reachable(model: RulesetModel, direction: Direction, together = true): Reach {
  const fresh = newConnections(model.family);
  const start = fromTheNetwork(fresh, direction);
  const { fallback, catchAll } = fallbackOf(model, FILTER_HOOK[direction], start);
  const queries = new Map<Rule, Box[]>();
  const ask = (r: Rule, box: Box): void => {
    const q = intersectBox(box, start);
    if (q !== null) queries.set(r, [...(queries.get(r) ?? []), portKept(q)]);
  };
  const filter = model.ruleset.tables.find((t) => t.name === 'filter');
  // A rule of a user chain is asked about only the packets its jumps send there (a user's chain: that user's).
  const entries = chainEntries(model, FILTER_HOOK[direction], start);
  const chainOf = new Map<Rule, string>();
  for (const c of filter?.chains ?? []) {
    for (const r of c.rules) {
      chainOf.set(r, c.name);
      if (r === catchAll || !FATES.has(r.target.kind) || r.target.kind === fallback) continue;
      for (const via of entries.get(c.name) ?? []) {
        const box = intersectBox(model.box(r).box, via);
        if (box !== null) ask(r, box);
      }
    }
  }
  // Connections a redirect moves onto a rule are that rule's too, from before the redirect.
  const nat = NAT_HOOK[direction];
  const natTable = model.ruleset.tables.find((t) => t.name === 'nat');
  // Only the nat chains this path's nat hook reaches: PREROUTING's redirects never move a
  // connection this host makes, and asking about them once per rule per redirect made `show`
  // of the operator policy cubic.
  const natChains = nat === undefined ? new Set<string>() : (natTable ? chainGraph(natTable).reachedFrom(nat) : new Set<string>());
  for (const c of natTable?.chains ?? []) {
    if (!natChains.has(c.name)) continue;
    for (const red of c.rules) {
      if (!changesDestination(red.target)) continue;
      const entered = intersectBox(model.box(red).box, start);
      if (entered === null) continue;
      const moved = translatedAnywhere(red.target, untranslated(entered), model.family);
      for (const m of model.meeting('filter', FILTER_HOOK[direction], moved)) {
        for (const r of m.rules()) {
          if (r === catchAll || !FATES.has(r.target.kind) || r.target.kind === fallback) continue;
          // Only what the jumps to the rule's chain send there (a user's own connections).
          for (const via of entries.get(chainOf.get(r) ?? '') ?? []) {
            const q = intersectBox(entered, beforeNat(via, model.family));
            const own = q && intersectBox(q, beforeNat(model.box(r).box, model.family));
            if (own) ask(r, own);
          }
        }
      }
    }
  }
  // Rules of one verdict whose questions differ in one dimension (the outbound denies of a
  // list of hosts, each user's chain) are asked together: each packet still has one deciding
  // rule, and keeping what one of the group decides keeps exactly what each would. Asked one by
  // one, each walked the same long way (past every user's jump): cubic in the policy's size.
  const asked = [...queries].flatMap(([rule, boxes]) => boxes.map((box) => ({ box, verdict: rule.target.kind, rules: [rule] })));
  // `together: false` asks each rule alone: the definition the grouping is tested against.
  const groups = together ? joinBoxes(asked, (q) => q.verdict, (first, others) => ({ ...first, rules: [first.rules, ...others.map((o) => o.rules)].flat() })) : asked;
  const found: Row[] = [];
  for (const g of groups) {
    const members = new Set(g.rules);
    for (const o of followPath(model, direction, untranslated(g.box), undefined, keepRules(members))) {
      const by = decidingRule(o);
      if (o.verdict === fallback || by === undefined || !members.has(by)) continue;
      const real = realized(o.entry);
      if (real) found.push({ box: plainConnection(real, model.family), verdict: o.verdict });
    }
  }
  const lo = loopback(model, direction, fallback);
  const own = lo === 'too large' ? [] : lo;
  const rawTable = model.ruleset.tables.find((t) => t.name === 'raw');
  const rawChains = nat === undefined ? new Set<string>() : (rawTable ? chainGraph(rawTable).reachedFrom(nat) : new Set<string>());
  found.push(...followedWhole(model, direction, start, fallback, new Set(queries.keys()), { nat: natChains, raw: rawChains }), ...own);
  // With loopback rows, the rows are said against every interface (lo among them).
  const said = own.length > 0 ? fresh : start;
  return { family: model.family, direction, fallback, rows: joinBoxes(found, (x) => `${x.verdict} ${x.moved}`), start: plainConnection(untranslated(said), model.family), ...(lo === 'too large' ? { loopbackUnlisted: true } : {}) };
}

/**
 * This host's connections to itself (out lo, through OUTPUT, then back in on lo through INPUT),
 * which `start` leaves out, with a fate other than `fallback`, unless all are accepted: listed
 * under "from this host" only, as each is one of its connections. Walked whole, as few rules
 * decide them (the preamble's loopback accept takes them all, after any hidden redirect target's
 * reject); without that accept (`defaults.established: false`) a long INPUT cuts them into more
 * pieces than a walk holds: then they are not listed, and said to be so ('too large').
 * Said to be always accepted, they were not: a hidden target refuses them.
 */
function loopback(model: RulesetModel, direction: Direction, fallback: Fate): Row[] | 'too large' {
  if (direction !== 'out') return [];
  let outcomes: Outcome[];
  try {
    outcomes = followPath(model, direction, untranslated(outLo(newConnections(model.family))));
  } catch (e) {
    if (e instanceof WalkTooLarge) return 'too large';
    throw e;
  }
  // All accepted (the preamble's loopback accept, as usual): nothing to say.
  if (outcomes.every((o) => o.verdict === 'accept')) return [];
  return outcomes.flatMap((o) => rowOf(model, direction, o, fallback));
}

/**
 * The connections whose first packet something before the filter table changes, followed whole:
 * those a redirect or DNAT takes off this path to another hook's rules and policy (a redirect
 * in PREROUTING delivers forwarded traffic to this host; a DNAT there sends traffic for this host
 * on through it; a redirect in OUTPUT sends what this host makes back in on lo), and those a
 * NOTRACK leaves untracked (met by rules of state UNTRACKED, which no question asks: the
 * questions are new connections). Each nat or raw rule's connections, made disjoint (the first
 * rule takes a connection) and joined, are walked; kept are the parts with another fate than
 * the fallback that no rule asked about decides (those the questions find). Without this, `show`
 * said such connections took the fallback.
 */
function followedWhole(model: RulesetModel, direction: Direction, start: Box, fallback: Fate, asked: ReadonlySet<Rule>, chains: { readonly nat: ReadonlySet<string>; readonly raw: ReadonlySet<string> }): Row[] {
  const entered: { box: Box }[] = [];
  // Disjoint by an index of what came before: a scan of every earlier rule's box was quadratic in
  // the redirects (4,000: seconds).
  const index = new BoxIndex<Box>(model.family);
  for (const table of model.ruleset.tables) {
    const reached = table.name === 'nat' ? chains.nat : table.name === 'raw' ? chains.raw : undefined;
    for (const c of table.chains) {
      if (!reached?.has(c.name)) continue;
      for (const r of c.rules) {
        if (!changesDestination(r.target) && r.target.kind !== 'notrack') continue;
        const hit = intersectBox(model.box(r).box, start);
        if (hit === null) continue;
        entered.push(...outsideOf(index, untranslated(hit)).map((box) => ({ box })));
      }
    }
  }
  return joinBoxes(entered, () => '').flatMap((q) =>
    followPath(model, direction, q.box).flatMap((o) => {
      const by = decidingRule(o);
      return by !== undefined && asked.has(by) ? [] : rowOf(model, direction, o, fallback);
    }),
  );
}

type Row = { box: Box; verdict: Fate; moved?: Moved };

/**
 * An outcome as a row (none, or one), if it is one: where its fate is not the fallback, or a
 * translation moved it to another hook's rules (listed whatever its fate: it does not go where
 * it was sent), with the translation that did.
 */
function rowOf(model: RulesetModel, direction: Direction, o: Outcome, fallback: Fate): Row[] {
  const moved = o.rules.some((r) => r.target.kind === MOVES[direction]);
  const real = o.verdict === fallback && !moved ? null : realized(o.entry);
  return real ? [{ box: plainConnection(real, model.family), verdict: o.verdict, ...(moved ? { moved: MOVES[direction] } : {}) }] : [];
}


/**
 * A question as it is grouped: its port also as the original port, so that questions differing in
 * their port (a reject per port) stay apart, and the rows stay one per port, while those differing
 * only in the address they go to (a list of outbound denies) are asked together. (`untranslated`
 * then makes it a connection nat did not translate.)
 */
function portKept(q: Box): Box {
  const out = copyBox(q);
  out[DIM.origdport] = q[DIM.dport];
  return out;
}

/**
 * A box as it constrains connections before nat: the dimensions a redirect or DNAT changes are
 * left open (a superset: the walk that follows keeps only what the rule itself decides).
 */
function beforeNat(box: Box, family: Family): Box {
  const out = copyBox(box);
  const u = everything(family);
  for (const d of [DIM.dst, DIM.dport, DIM.dnat, DIM.origdst, DIM.origdport]) out[d] = u[d]!;
  return out;
}

/**
 * For each chain the hook reaches, the boxes of packets that can enter it: the connections asked
 * about for the hook's own chains, and through each jump the packets it sends (a superset, as
 * earlier rules are not subtracted; the walk decides).
 */
function chainEntries(model: RulesetModel, hook: Hook, start: Box): Map<string, Box[]> {
  const filter = model.ruleset.tables.find((t) => t.name === 'filter');
  if (filter === undefined) return new Map();
  const graph = chainGraph(filter);
  const out = new Map<string, Box[]>();
  const todo: [string, Box][] = graph.entries(hook).map((c) => [c.name, start]);
  for (let i = 0; i < todo.length; i++) {
    const [name, box] = todo[i]!;
    const list = out.get(name) ?? [];
    if (list.length > 64) continue;
    out.set(name, [...list, box]);
    for (const r of graph.chain(name)?.rules ?? []) {
      if (r.target.kind !== 'jump') continue;
      const next = intersectBox(box, model.box(r).box);
      if (next !== null) todo.push([r.target.chain, next]);
    }
  }
  return out;
}

/**
 * The fate of connections no narrower rule decides: the first rule on the hook's way that takes
 * every connection asked about (a default REJECT after a DROP policy), else the chain's policy.
 */
function fallbackOf(model: RulesetModel, hook: Hook, start: Box): { fallback: Fate; catchAll?: Rule } {
  const filter = model.ruleset.tables.find((t) => t.name === 'filter');
  const graph = filter ? chainGraph(filter) : undefined;
  const builtin = graph?.chain(hook);
  const order = graph?.entries(hook) ?? [];
  const takesAll = (r: Rule): boolean => {
    const hit = intersectBox(start, model.box(r).box);
    return hit !== null && hit.every((d, i) => sameValues(d, start[i]!));
  };
  const seen = new Set<string>();
  const visit = (name: string): { fallback: Fate; catchAll?: Rule } | undefined => {
    const c = graph?.chain(name);
    if (c === undefined || seen.has(name)) return undefined;
    seen.add(name);
    for (const r of c.rules) {
      if (!model.box(r).exact || !takesAll(r)) continue;
      const t = r.target;
      if (t.kind === 'jump') {
        const inner = visit(t.chain);
        if (inner) return inner;
      } else if (t.kind === 'accept' || t.kind === 'drop' || t.kind === 'reject') return { fallback: t.kind, catchAll: r };
      else if (t.kind === 'return') return undefined;
    }
    return undefined;
  };
  for (const c of order) {
    const found = visit(c.name);
    if (found) return found;
  }
  return { fallback: builtin?.policy === 'DROP' ? 'drop' : 'accept' };
}
