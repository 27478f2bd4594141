import { diag, formatLocation, type Diagnostic, type Related } from '../../diagnostics/diagnostic.js';
import type { Family, Origin, Rule, Target } from '../../model/ir.js';
import type { Check } from './api.js';
import type { Member } from '../../packet/run.js';
import { modelsOf } from '../../packet/path.js';
import { coveredBy, type Box } from '../../packet/space.js';
import { COVER_BUDGET } from '../../packet/index/chain-index.js';
import { countText } from '../../diagnostics/count.js';
import { pathKey } from '../../model/path.js';

const verb: Record<string, string> = { accept: 'accepted', drop: 'dropped', reject: 'rejected', return: 'returned' };

interface Finding {
  readonly rule: Rule;
  readonly families: Set<Family>;
  readonly covers: Map<string, { origin: Origin; kind: Target['kind'] }>;
  /** Whether an earlier accepting rule shares packets with it (for a fallback: some get through). */
  acceptsSome: boolean;
}

/**
 * A rule never matches when every packet it could match is already decided by earlier terminal
 * rules of its chain, possibly several together (union, not only one rule). Accept versus
 * drop/reject is an error (the author's intent is lost); the same target, or drop versus reject,
 * is a redundancy warning.
 */
export const shadowed: Check = {
  code: 'shadowed',
  kind: 'lint',
  docs: `A rule can never match because earlier rules of its chain, together, already decide every packet it matches. If they decide differently (accept vs drop/reject) this is an error: the rule's intent is lost. If they decide the same way, it is a redundancy warning. Reorder the rules, narrow the earlier ones (\`except:\`), or remove the dead rule. Every chain is analysed, at any length; a rule whose earlier overlapping rules cut its packets into more than 20,000 pieces is reported as \`analysis-limit\` instead of being decided.`,
  example: 'version: 1\ninbound:\n  - { name: web, port: 80 }\n  - { name: block-scanner, port: 80, from: 203.0.113.7, action: drop }\n',
  check: ({ ir }) => {
    const findings = new Map<string, Finding>();
    const undecided = new Map<string, { rule: Rule; families: Set<Family>; overlapping: number }>();
    for (const model of modelsOf(ir)) {
      const rs = model.ruleset;
      for (const table of rs.tables) {
        for (const chain of table.chains) {
          for (const { rule, overlapping } of model.undecidedRules(table.name, chain.name)) {
            const key = `${originKey(rule.origin)} ${rule.target.kind}`;
            const u = undecided.get(key) ?? { rule, families: new Set<Family>(), overlapping: 0 };
            u.families.add(rs.family);
            u.overlapping = Math.max(u.overlapping, overlapping);
            undecided.set(key, u);
          }
          for (const { rule, box, covers } of model.deadRules(table.name, chain.name)) {
            const self = originKey(rule.origin);
            const key = `${self} ${rule.target.kind}`;
            const f = findings.get(key) ?? { rule, families: new Set<Family>(), covers: new Map(), acceptsSome: false };
            f.families.add(rs.family);
            const members = covers.flatMap((o) => o.run.meeting(box, o.members).filter((m) => m.key !== rule.origin));
            if (members.some(acceptsFromPolicy)) f.acceptsSome = true;
            for (const o of minimalCover(box, members)) f.covers.set(`${originKey(o.rule.origin)} ${o.rule.target.kind}`, { origin: o.rule.origin, kind: o.rule.target.kind });
            findings.set(key, f);
          }
        }
      }
    }
    return [...[...findings.values()].flatMap(toDiagnostics), ...[...undecided.values()].map(undecidedDiagnostic)];
  },
};

/** A rule the sweep could not decide: said, so that a dead rule is never passed over in silence. */
export function undecidedDiagnostic(u: { readonly rule: Rule; readonly families: ReadonlySet<Family>; readonly overlapping: number }): Diagnostic {
  const fams = [...u.families].sort().join(' and ');
  return diag(
    'analysis-limit',
    u.rule.origin.loc,
    `whether '${u.rule.origin.label}' ever matches in ${fams} was not decided: the ${u.overlapping} earlier rules (or runs of like rules) that overlap it cut its packets into more than ${countText(COVER_BUDGET)} pieces, so it is reported neither as shadowed nor as live; split it or the rules before it into simpler ones (fewer ports or addresses each, or one protocol), or suppress this with a reason once you have checked it`,
    undefined,
    u.rule.origin.path,
  );
}

const originKey = (o: Origin): string => `${pathKey(o.path)} ${o.label}`;

/**
 * An accept the policy's own rules wrote: not the preamble's (replies, loopback, ICMPv6), which
 * share packets with every rule's box without deciding a new connection to a port.
 */
const acceptsFromPolicy = (e: Member<Rule>): boolean =>
  (e.rule.target.kind === 'accept' || e.rule.target.kind === 'return') && e.rule.origin.path.length > 0 && e.rule.origin.path[0] !== 'defaults';

/**
 * Drops covering rules that are not needed, earliest first, so the message names the real cause.
 * Past a few dozen (a long run of bans) it names them all, unless the last alone covers: finding
 * the fewest would be quadratic.
 */
function minimalCover<T extends { box: Box }>(box: Box, covers: readonly T[]): T[] {
  // The last alone covering it is what the loop below would keep (every earlier one can go while
  // it stays): the usual case of near-duplicate rules, found with one comparison instead of a
  // union for each. At any number: naming every earlier duplicate of a rule repeated 2,000 times
  // wrote 470 MB of messages.
  const last = covers[covers.length - 1];
  if (covers.length > 1 && coveredBy(box, [last!.box]) === true) return [last!];
  const kept = [...covers];
  if (kept.length > MINIMAL_COVER_MAX) return kept;
  for (let i = 0; i < kept.length; ) {
    const without = kept.filter((_, k) => k !== i);
    if (without.length > 0 && coveredBy(box, without.map((c) => c.box)) === true) kept.splice(i, 1);
    else i++;
  }
  return kept;
}

const MINIMAL_COVER_MAX = 32;

function toDiagnostics(f: Finding): Diagnostic[] {
  const kind = f.rule.target.kind;
  const covers = [...f.covers.values()];
  if (f.rule.fallback) return fallbackFinding(f, covers);
  return [toDiagnostic(f, kind, covers)];
}

/**
 * A fallback (a redirect's accept) decided entirely by the rules before it is the design, unless
 * they all refuse: then the redirect never delivers a connection.
 */
function fallbackFinding(f: Finding, covers: readonly { origin: Origin; kind: Target['kind'] }[]): Diagnostic[] {
  if (f.acceptsSome || covers.some((c) => c.kind === 'accept' || c.kind === 'return')) return [];
  const by = covers.map((c) => `'${c.origin.label}' (${formatLocation(c.origin.loc)})`).join(' and ');
  const related: Related[] = covers.map((c) => ({ ...c.origin.loc, message: `${verb[c.kind] ?? c.kind} here first: '${c.origin.label}'` }));
  const fams = [...f.families].sort().join(' and ');
  return [diag('shadowed', f.rule.origin.loc, `'${f.rule.origin.label}' never matches in ${fams}: every connection the redirect delivers is ${[...new Set(covers.map((c) => verb[c.kind]))].join('/')} earlier by ${by}, which its target port's rules apply to; to refuse only connections made straight to the target port, use \`hide-target: true\` instead`, related, f.rule.origin.path)];
}

function toDiagnostic(f: Finding, kind: Target['kind'], covers: readonly { origin: Origin; kind: Target['kind'] }[]): Diagnostic {
  const conflicting = covers.some((c) => (c.kind === 'accept') !== (kind === 'accept') || (c.kind === 'return') !== (kind === 'return'));
  const by = covers.map((c) => `'${c.origin.label}' (${formatLocation(c.origin.loc)})`).join(' and ');
  const fams = [...f.families].sort().join(' and ');
  const related: Related[] = covers.map((c) => ({ ...c.origin.loc, message: `${verb[c.kind] ?? c.kind} here first: '${c.origin.label}'` }));
  const message = conflicting
    ? `'${f.rule.origin.label}' never matches in ${fams}: every packet it would ${kind === 'accept' ? 'accept' : kind} is ${[...new Set(covers.map((c) => verb[c.kind]))].join('/')} earlier by ${by}; reorder, narrow the earlier rule (\`except:\`), or remove this one`
    : `'${f.rule.origin.label}' is redundant in ${fams}: every packet it matches is already ${[...new Set(covers.map((c) => verb[c.kind]))].join('/')} by ${by}; remove it`;
  const d = diag('shadowed', f.rule.origin.loc, message, related, f.rule.origin.path);
  return conflicting ? d : { ...d, severity: 'warning' };
}
