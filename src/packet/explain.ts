import type { Direction, Rule, Target } from '../model/ir.js';
import { assertNever } from '../model/ir.js';
import { followPath, isTranslation, type Outcome, type RulesetModel, type TraceEvent } from './path.js';
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
