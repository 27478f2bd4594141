import { diag } from '../../diagnostics/diagnostic.js';
import { familyRecord } from '../../model/family.js';
import type { Check } from './api.js';
import { eachRuleWith } from './rule-sites.js';

export const familyIcmp: Check = {
  code: 'family-icmp',
  kind: 'invariant',
  docs: 'An ICMP type that does not exist in the file\'s family (an ICMPv6 type in rules.v4 or the reverse). ip6tables silently accepts -p icmp and matches protocol 1, never ICMPv6, so a wrong family is a silent hole.',
  check: ({ ir }) =>
    eachRuleWith(ir, ['icmp-type'], (rule, { family }) => {
      for (const m of rule.matches) {
        if (m.kind === 'icmp-type' && !Object.values(familyRecord(family).icmp).some((t) => t.tool === m.name)) {
          return diag('family-icmp', rule.origin.loc, `ICMP type '${m.name}' does not exist in ${familyRecord(family).label}`, undefined, rule.origin.path);
        }
      }
      return undefined;
    }),
};
