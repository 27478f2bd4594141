import { SUPPRESSIBLE, type Code } from '../diagnostics/codes.js';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { SourceMap } from '../load/source-map.js';
import { RULE_SECTIONS, type Policy, type RuleSection, type Suppress } from '../model/policy.js';

export type Level = 'error' | 'warning' | 'off';

/**
 * Applies what the author decided about findings: per-rule `suppress` (with a reason), then
 * severities from `checks:` and the command line (which wins). A suppression that silenced nothing
 * is itself reported, so stale ones do not pile up.
 */
export function applyConfig(ds: readonly Diagnostic[], policy: Policy, source: SourceMap, cli: Readonly<Record<string, Level>> = {}): Diagnostic[] {
  const used = new Set<string>();
  const kept: Diagnostic[] = [];
  for (const d of ds) {
    const rulePath = d.path && RULE_SECTIONS.includes(d.path[0] as never) && typeof d.path[1] === 'number' ? ([d.path[0] as RuleSection, d.path[1]] as const) : undefined;
    const suppress = rulePath ? (ruleList(policy, rulePath[0])[rulePath[1]]?.suppress ?? {}) : {};
    if (SUPPRESSIBLE.includes(d.code) && suppress[d.code] !== undefined) {
      used.add(`${rulePath![0]}/${rulePath![1]}/${d.code}`);
      continue;
    }
    const level: Level | undefined = SUPPRESSIBLE.includes(d.code) ? (cli[d.code] ?? policy.checks?.[d.code]) : undefined;
    if (level === 'off') continue;
    kept.push(level ? { ...d, severity: level } : d);
  }
  for (const section of RULE_SECTIONS) {
    ruleList(policy, section).forEach((r, i) => {
      for (const code of Object.keys(r.suppress ?? {})) {
        if (!used.has(`${section}/${i}/${code}`)) kept.push(diag('unused-suppression', source.at([section, i, 'suppress', code], 'key'), `'${code}' is suppressed here but this rule has no such finding; remove the entry`, undefined, [section, i]));
      }
    });
  }
  return kept;
}

function ruleList(policy: Policy, section: RuleSection): readonly { readonly suppress?: Suppress }[] {
  return (policy[section] ?? []) as readonly { readonly suppress?: Suppress }[];
}

export function isSuppressible(code: string): code is Code {
  return SUPPRESSIBLE.includes(code);
}
