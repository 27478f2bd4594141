import type { Direction, Rule, Target } from '../model/ir.js';
import { assertNever } from '../model/ir.js';
import { asNumber, named, ownerAssumptions, type OwnerAssumption } from './owners.js';
import { followPath, isTranslation, type Outcome, type RulesetModel, type TraceEvent } from './path.js';
import { pointOf, type Packet } from './space.js';

export type { OwnerAssumption };

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
export function explainOwners(model: RulesetModel, direction: Direction, packet: Packet): OwnerCase[] | undefined {
  const plain = explainPacket(model, direction, packet);
  if (plain === undefined) return undefined;
  const choices: (readonly { assume: OwnerAssumption | null; packet: Partial<Packet> }[])[] = [];
  for (const by of ['uid', 'gid'] as const) {
    const owner = packet[by];
    const assumptions = owner === undefined ? [] : ownerAssumptions(model.ruleset, by, owner);
    if (assumptions.length > 0) choices.push([...assumptions.map((a) => ({ assume: a, packet: { [by]: asNumber(a) } })), { assume: null, packet: {} }]);
  }
  if (choices.length === 0) return [{ assume: [], explanation: plain }];
  const cases: OwnerCase[] = [];
  const combine = (k: number, assumed: OwnerAssumption[], p: Packet): void => {
    if (k === choices.length) {
      const m = assumed.length === 0 ? model : model.with(named(model.ruleset, assumed));
      cases.push({ assume: assumed, explanation: explainPacket(m, direction, p)! });
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
 */
export function decidingRule(rules: readonly Rule[]): Rule | undefined {
  for (let i = rules.length - 1; i >= 0; i--) if (!isTranslation(rules[i]!.target)) return rules[i];
  return undefined;
}
