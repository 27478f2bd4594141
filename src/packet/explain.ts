import type { Direction, IR, Match, Rule, Ruleset, Target } from '../model/ir.js';
import { assertNever } from '../model/ir.js';
import { followPath, isTranslation, RulesetModel, type Outcome, type TraceEvent } from './path.js';
import { setContents } from './sets.js';
import { pointOf, type Packet } from './space.js';

/** One packet's path through a family's rules: what it met, in order, and how it ended. */
export interface Explanation {
  readonly events: readonly TraceEvent[];
  readonly outcome: Outcome;
}

/** Undefined when the packet's addresses are not of the model's family. */
export function explainPacket(model: RulesetModel, direction: Direction, packet: Packet): Explanation | undefined {
  const box = pointOf(model.family, packet);
  if (box === undefined) return undefined;
  const events: TraceEvent[] = [];
  // One packet: exactly one outcome.
  const outcome = followPath(model, direction, box, (e) => events.push(e))[0]!;
  return { events, outcome };
}

/** That the packet's owner (a uid or gid) is known on the host by a name: `33` is `www-data`. */
export interface OwnerAssumption {
  readonly by: 'uid' | 'gid';
  readonly id: string;
  readonly name: string;
}

/**
 * One answer under what is assumed about the packet's owners: none assumed is the answer where
 * its owners are none of those the rules name the other way (by number, or by name).
 */
export interface OwnerCase {
  readonly assume: readonly OwnerAssumption[];
  /** For a name, the number it is assumed to be; the packet as asked otherwise. */
  readonly explanation: Explanation;
}

/**
 * A packet's explanation under every assumption that could change it. The rules match owners
 * by name (`www-data`) or by number (33), and which number a name is is known only on the host,
 * not to the compiler: a packet of uid 33 meets a rule for www-data exactly when www-data is 33
 * there. So for a numeric owner, each name the rules match by is assumed in turn (the rules of
 * that name then match the number), and so is none of them; for a name, each number or range
 * the rules match by (the packet then has that number). One case when the rules match owners
 * only the way the packet names them. Undefined when the packet is not of the model's family.
 */
export function explainOwners(ir: IR, model: RulesetModel, direction: Direction, packet: Packet): OwnerCase[] | undefined {
  const plain = explainPacket(model, direction, packet);
  if (plain === undefined) return undefined;
  const choices: (readonly { assume: OwnerAssumption | null; packet: Partial<Packet> }[])[] = [];
  for (const by of ['uid', 'gid'] as const) {
    const owner = packet[by];
    if (owner === undefined) continue;
    const ids = ownersIn(model.ruleset, by);
    const numeric = /^\d+$/.test(owner);
    const assumptions: OwnerAssumption[] = numeric
      ? ids.filter((id) => !/^\d/.test(id)).map((name) => ({ by, id: owner, name }))
      : regions(ids.filter((id) => /^\d/.test(id))).map((id) => ({ by, id, name: owner }));
    if (assumptions.length === 0) continue;
    choices.push([...assumptions.map((a) => ({ assume: a, packet: { [by]: a.id.split('-')[0]! } })), { assume: null, packet: {} }]);
  }
  if (choices.length === 0) return [{ assume: [], explanation: plain }];
  const cases: OwnerCase[] = [];
  const sets = setContents(ir, model.family);
  const combine = (k: number, assumed: OwnerAssumption[], p: Packet): void => {
    if (k === choices.length) {
      const m = assumed.length === 0 ? model : new RulesetModel(named(model.ruleset, assumed), sets);
      cases.push({ assume: assumed, explanation: explainPacket(m, direction, p)! });
      return;
    }
    for (const c of choices[k]!) combine(k + 1, c.assume ? [...assumed, c.assume] : assumed, { ...p, ...c.packet });
  };
  combine(0, [], packet);
  return cases;
}

/** The owners (uid or gid) the rules of a ruleset match, as written. */
function ownersIn(rs: Ruleset, by: 'uid' | 'gid'): string[] {
  const out = new Set<string>();
  for (const t of rs.tables) for (const c of t.chains) for (const r of c.rules) for (const m of r.matches) if (m.kind === 'owner' && m.by === by) out.add(m.id);
  return [...out];
}

/**
 * The numbers that the rules' ids and ranges cut into parts every number of which meets the
 * same of them, for the parts inside at least one: `1000-1010` and `1005` make 1000-1004, 1005,
 * 1006-1010.
 */
function regions(ids: readonly string[]): string[] {
  const ranges = ids.map((id) => id.split('-').map(Number)).map(([lo, hi]) => [lo!, hi ?? lo!] as const);
  const cuts = [...new Set(ranges.flatMap(([lo, hi]) => [lo, hi + 1]))].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const lo = cuts[i]!;
    const hi = cuts[i + 1]! - 1;
    if (ranges.some(([a, b]) => a <= lo && hi <= b)) out.push(lo === hi ? `${lo}` : `${lo}-${hi}`);
  }
  return out;
}

/** The ruleset as the host reads it when each assumed name is the packet's number (the rules keep their origins). */
function named(rs: Ruleset, assumed: readonly OwnerAssumption[]): Ruleset {
  const swap = (m: Match): Match => {
    if (m.kind !== 'owner') return m;
    const a = assumed.find((x) => x.by === m.by && x.name === m.id);
    return a === undefined ? m : { ...m, id: a.id.split('-')[0]! };
  };
  return { ...rs, tables: rs.tables.map((t) => ({ ...t, chains: t.chains.map((c) => ({ ...c, rules: c.rules.map((r) => ({ ...r, matches: r.matches.map(swap) })) })) })) };
}

/** A target as iptables names it. */
export function targetText(t: Target): string {
  switch (t.kind) {
    case 'accept':
      return 'ACCEPT';
    case 'drop':
      return 'DROP';
    case 'reject':
      return `REJECT (${t.with})`;
    case 'return':
      return 'RETURN';
    case 'jump':
      return `jump to ${t.chain}`;
    case 'log':
      return t.nflog === undefined ? 'LOG' : `NFLOG to group ${t.nflog}`;
    case 'redirect':
      return `REDIRECT to port ${t.toPort}`;
    case 'dnat':
      return `DNAT to ${t.to}${t.toPort === undefined ? '' : ` port ${t.toPort}`}`;
    case 'snat':
      return `SNAT to ${t.to}`;
    case 'masquerade':
      return 'MASQUERADE';
    case 'notrack':
      return 'NOTRACK (no connection tracking)';
    case 'helper':
      return `conntrack helper ${t.helper}`;
    case 'mark':
      return `MARK ${t.mark}`;
    default:
      return assertNever(t);
  }
}

/**
 * The rule that decided an outcome: the last one met that is not a translation (a redirect, NAT,
 * notrack), which only changes what the later tables see; none where a chain's policy decided.
 */
export function decidingRule(rules: readonly Rule[]): Rule | undefined {
  for (let i = rules.length - 1; i >= 0; i--) if (!isTranslation(rules[i]!.target)) return rules[i];
  return undefined;
}
