import { diag, formatLocation, type Diagnostic } from '../../diagnostics/diagnostic.js';
import type { Rule } from '../../model/ir.js';
import { hookChain } from '../../model/chains.js';
import { modelsOf, redirected, untranslated, type RulesetModel } from '../../packet/path.js';
import { DIM, everything, type Box } from '../../packet/space.js';
import type { Check } from './api.js';
import { dportsText } from './rule-sites.js';
import { pathKey } from '../../model/path.js';

/**
 * The packet model's answer to "which inbound rule sees a redirected connection": nat moves it
 * to the target port before the filter table, so a rule written for the original port meets it
 * only as the author imagines it. For each redirect, the connections it catches walk filter
 * INPUT twice, as written (untranslated) and as they arrive (translated); a rule of the policy
 * that refuses some as written, where they arrive accepted, is reported at that rule.
 */
export const redirectBypass: Check = {
  code: 'redirect-bypass',
  kind: 'lint',
  docs: "An inbound deny, or the deny of an allowlist, that would refuse connections to a redirected port: nat moves them to the redirect's target port before the filter table, so the rule never sees them and they are accepted there. Write the rule for the target port as well, or leave those sources out of the redirect (`from`).",
  example: 'version: 1\ninbound:\n  - { name: no-8445-from-guests, port: 8445, from: 10.9.0.0/16, action: deny }\nredirects:\n  - { name: alt, port: 8445, to-port: 8443, local: false, hide-target: false }\n',
  check: ({ ir }) => {
    const found = new Map<string, Diagnostic>();
    for (const model of modelsOf(ir)) {
      for (const r of redirectRules(model)) {
        const t = r.target;
        if (t.kind !== 'redirect') continue;
        const asWritten = untranslated(model.box(r).box);
        // Only rules that look at what nat changes can decide differently: most redirects meet none.
        if (!meetsPortRule(model, asWritten)) continue;
        for (const d of model.decide('filter', 'INPUT', asWritten)) {
          if (d.verdict !== 'drop' && d.verdict !== 'reject') continue;
          const refusers = d.rules.filter((x) => x.origin.path[0] === 'inbound');
          if (refusers.length === 0) continue;
          const arrives = model.decide('filter', 'INPUT', redirected(d.box, t.toPort));
          if (!arrives.some((a) => a.verdict === 'accept')) continue;
          for (const refuser of refusers) report(found, refuser, r, t.toPort);
        }
      }
    }
    return [...found.values()];
  },
};

/** The redirects of nat PREROUTING and OUTPUT, in ipfence's chains. */
function redirectRules(model: RulesetModel): Rule[] {
  const nat = model.ruleset.tables.find((t) => t.name === 'nat');
  return (nat?.chains ?? []).filter((c) => c.name === hookChain('PREROUTING') || c.name === 'PREROUTING').flatMap((c) => c.rules.filter((r) => r.target.kind === 'redirect'));
}

const CHANGED = [DIM.dport, DIM.dnat, DIM.origdport, DIM.origdst] as const;

/** Whether some refusing rule of filter INPUT that matches on what nat changes meets `box`. */
function meetsPortRule(model: RulesetModel, box: Box): boolean {
  const all = everything(model.family);
  return model.meeting('filter', 'INPUT', box).some((e) => (e.verdict === 'drop' || e.verdict === 'reject') && CHANGED.some((d) => e.box[d] !== all[d]));
}

/** One finding per rule and redirect, whichever families it holds in. */
function report(found: Map<string, Diagnostic>, refuser: Rule, redirect: Rule, toPort: number): void {
  const key = `${pathKey(refuser.origin.path)} ${refuser.origin.label} ${pathKey(redirect.origin.path)}`;
  if (found.has(key)) return;
  const others = refuser.origin.label.endsWith(OTHERS);
  const label = others ? refuser.origin.label.slice(0, -OTHERS.length) : refuser.origin.label;
  const ports = dportsText(redirect).join(', ');
  found.set(
    key,
    diag(
      'redirect-bypass',
      refuser.origin.loc,
      `redirect '${redirect.origin.label}' (${formatLocation(redirect.origin.loc)}) moves connections to ${ports} onto port ${toPort} before the filter table sees them, so '${label}' never refuses them${others ? ' (the sources it does not list)' : ''}: redirected connections meet the rules of their target port; write this rule for port ${toPort} as well, or leave these sources out of the redirect (\`from\`)`,
      [{ ...redirect.origin.loc, message: 'the redirect' }],
      refuser.origin.path,
    ),
  );
}

/** The role of an allowlist's implicit deny in its label. */
const OTHERS = ' (others)';
