import { diag } from '../../diagnostics/diagnostic.js';
import type { Check } from './api.js';
import { eachRuleTargeting } from './rule-sites.js';

export const tcpReset: Check = {
  code: 'tcp-reset',
  kind: 'invariant',
  docs: 'REJECT --reject-with tcp-reset in a rule that does not itself match -p tcp. It passes iptables-restore --test and fails in the kernel.',
  check: ({ ir }) =>
    eachRuleTargeting(ir, ['reject'], (rule) =>
      rule.target.kind === 'reject' && rule.target.with === 'tcp-reset' && !rule.matches.some((m) => (m.kind === 'proto' && m.proto === 'tcp') || (m.kind === 'dports' && m.proto === 'tcp'))
        ? diag('tcp-reset', rule.origin.loc, 'tcp-reset needs the rule itself to match -p tcp', undefined, rule.origin.path)
        : undefined,
    ),
};
