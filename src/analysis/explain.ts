import type { Direction, Family, Rule, Target } from '../model/ir.js';
import { describeBox } from './describe.js';
import { assertNever } from '../model/ir.js';
import { asNumber, named, ownerAssumptions, type OwnerAssumption } from './owners.js';
import { followPath, isTranslation, type Outcome, type RulesetModel, type TraceEvent } from '../packet/path.js';
import { subtract, unite, type IntervalSet } from '../values/intervals.js';
import { DIM, everything, pointOf, type Box, type Packet, copyBox } from '../packet/space.js';

export type { OwnerAssumption };

/** One packet's path through a family's rules: what it met, in order, and how it ended. */
export interface Explanation {
  readonly events: readonly TraceEvent[];
  readonly outcome: Outcome;
}

/**
 * One packet's explanation under each assumption about the primary address of the interface it
 * came in by, where its answer depends on it (a REDIRECT in PREROUTING sends it there, and a
 * rule after looks at the destination): `primary` is the addresses assumed, absent when the
 * answer does not depend on it. Undefined when the packet's addresses are not of the model's family.
 */
export function explainPacket(model: RulesetModel, direction: Direction, packet: Packet): PrimaryCase[] | undefined {
  const box = pointOf(model.family, packet);
  if (box === undefined) return undefined;
  const walk = (b: Box): Explanation[] => {
    const events: TraceEvent[] = [];
    return followPath(model, direction, b, (e) => events.push(e)).map((outcome) => ({ events, outcome }));
  };
  const outcomes = followPath(model, direction, box);
  // A point in every dimension but the primary address: one outcome, unless that decides.
  if (outcomes.length === 1) return [{ explanation: walk(box)[0]! }];
  // Outcomes decided alike (the same rules, the same verdict) are one case, of all their addresses.
  const groups = new Map<string, { primary: IntervalSet; outcome: Outcome }>();
  for (const o of outcomes) {
    const key = `${o.verdict} ${o.rules.map(ruleId).join(' ')}`;
    const g = groups.get(key);
    if (g) g.primary = unite(g.primary, o.entry[DIM.primary]);
    else groups.set(key, { primary: o.entry[DIM.primary], outcome: o });
  }
  const cases: PrimaryCase[] = [];
  for (const [i, g] of [...groups.values()].entries()) {
    // A rule per address can make thousands of cases: past the first few, each is told by its end alone.
    if (i >= TRACED_CASES) {
      cases.push({ primary: g.primary, explanation: { events: [], outcome: g.outcome } });
      continue;
    }
    const assumed = copyBox(box);
    assumed[DIM.primary] = g.primary;
    const told = walk(assumed);
    if (told.length === 1) cases.push({ primary: g.primary, explanation: told[0]! });
    else {
      // The same rules decided, but others (a log) met only some of the addresses: each its own story.
      for (const t of told) {
        const one = copyBox(box);
        one[DIM.primary] = t.outcome.entry[DIM.primary];
        cases.push({ primary: one[DIM.primary], explanation: walk(one)[0]! });
      }
    }
  }
  return cases;
}

/** Cases of one packet traced in full; the others (past a rule per address) are told by their end. */
export const TRACED_CASES = 8;

const RULE_IDS = new WeakMap<Rule, number>();
const ruleId = (r: Rule): number => {
  let id = RULE_IDS.get(r);
  if (id === undefined) RULE_IDS.set(r, (id = RULE_IDS_NEXT.n++));
  return id;
};
const RULE_IDS_NEXT = { n: 0 };

/** Addresses assumed to be an interface's primary address: "192.0.2.7", "any address except 192.0.2.7". */
export function primaryText(family: Family, set: IntervalSet, limit: number = Infinity): string {
  const box = copyBox(everything(family));
  box[DIM.dst] = set;
  return (describeBox(family, box, undefined, limit).to ?? 'any address').replace(/^any except /, 'any address except ');
}

/**
 * What a box (a row of show, a change of diff) assumes the incoming interface's primary address to
 * be, as text; undefined when it holds for every address that can be primary (`primaries`: the
 * model's, `host.addresses` when given).
 */
export function assumedPrimary(family: Family, box: Box, primaries: IntervalSet, limit: number = Infinity): string | undefined {
  const set = box[DIM.primary];
  return subtract(primaries, set).length === 0 ? undefined : primaryText(family, set, limit);
}

/**
 * "eth0's primary address is 192.0.2.7" (the interface as described; null: any). One interface is
 * named ("eth0's"); a list or "any except lo" is not ("any except lo's" read as nonsense).
 */
export const primaryClause = (iface: string | null, addresses: string): string => `${iface === null || !/^[^\s,]+$/.test(iface) ? "the incoming interface's" : `${iface}'s`} primary address is ${addresses}`;

/** One answer under what is assumed about the primary address of the packet's incoming interface. */
export interface PrimaryCase {
  /** The addresses assumed; absent where the answer is the same whichever it is. */
  primary?: IntervalSet;
  readonly explanation: Explanation;
}


/**
 * One answer under what is assumed about the packet's owners: none assumed is the answer where
 * its owners are none of those the rules name the other way (by number, or by name).
 */
export interface OwnerCase {
  readonly assume: readonly OwnerAssumption[];
  /** The addresses the incoming interface's primary address is assumed to be (see explainPacket); absent when that decides nothing. */
  readonly primary?: IntervalSet;
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
export function explainOwners(model: RulesetModel, direction: Direction, packet: Packet): OwnerCase[] | undefined {
  const plain = explainPacket(model, direction, packet);
  if (plain === undefined) return undefined;
  const withPrimary = (assume: readonly OwnerAssumption[], cases: readonly PrimaryCase[]): OwnerCase[] => cases.map((c) => ({ assume, ...(c.primary ? { primary: c.primary } : {}), explanation: c.explanation }));
  const choices: (readonly { assume: OwnerAssumption | null; packet: Partial<Packet> }[])[] = [];
  for (const by of ['uid', 'gid'] as const) {
    const owner = packet[by];
    const assumptions = owner === undefined ? [] : ownerAssumptions(model.ruleset, by, owner);
    if (assumptions.length > 0) choices.push([...assumptions.map((a) => ({ assume: a, packet: { [by]: asNumber(a) } })), { assume: null, packet: {} }]);
  }
  if (choices.length === 0) return withPrimary([], plain);
  const cases: OwnerCase[] = [];
  const combine = (k: number, assumed: OwnerAssumption[], p: Packet): void => {
    if (k === choices.length) {
      const m = assumed.length === 0 ? model : model.with(named(model.ruleset, assumed));
      cases.push(...withPrimary(assumed, explainPacket(m, direction, p)!));
      return;
    }
    for (const c of choices[k]!) combine(k + 1, c.assume ? [...assumed, c.assume] : assumed, { ...p, ...c.packet });
  };
  combine(0, [], packet);
  return cases;
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
 * A drop or reject is a rule's only if that rule drops or rejects: an accept in OUTPUT followed by
 * INPUT's policy (a connection to this host's own address) was blamed on the accept.
 */
export function decidingRule(o: { readonly rules: readonly Rule[]; readonly verdict: 'accept' | 'drop' | 'reject' }): Rule | undefined {
  for (let i = o.rules.length - 1; i >= 0; i--) {
    const r = o.rules[i]!;
    if (isTranslation(r.target)) continue;
    return o.verdict === 'accept' || r.target.kind === o.verdict ? r : undefined;
  }
  return undefined;
}
