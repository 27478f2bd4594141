import { diag } from '../../diagnostics/diagnostic.js';
import type { Check } from './api.js';
import { eachRuleTargeting } from './rule-sites.js';

export const natFiltering: Check = {
  code: 'nat-filtering',
  kind: 'invariant',
  docs: 'A DROP or REJECT in the nat table. iptables refuses DROP there and the kernel refuses REJECT; nat sees only the first packet of a connection anyway. Filter in the filter table (conntrack --ctorigdstport matches the original port).',
  check: ({ ir }) =>
    eachRuleTargeting(
      ir,
      ['drop', 'reject'],
      (rule) =>
        rule.target.kind === 'drop' || rule.target.kind === 'reject'
          ? diag('nat-filtering', rule.origin.loc, `${rule.target.kind.toUpperCase()} in the nat table is refused; filter in the filter table instead`, undefined, rule.origin.path)
          : undefined,
      (site) => site.table.name === 'nat',
    ),
};
