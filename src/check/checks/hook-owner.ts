import { diag } from '../../diagnostics/diagnostic.js';
import type { Check } from './api.js';
import { eachRuleWith, forbidden } from './rule-sites.js';

const OWNER_HOOKS = ['OUTPUT', 'POSTROUTING'];

export const hookOwner: Check = {
  code: 'hook-owner',
  kind: 'invariant',
  docs: 'An owner (uid/gid) match is reachable from PREROUTING, INPUT or FORWARD. Only locally generated packets have an owner; the kernel refuses the rule (EINVAL) when the file is loaded. Owner rules belong to outbound traffic (`users:`).',
  check: ({ ir }) =>
    eachRuleWith(
      ir,
      ['owner'],
      (rule, { hooks }) => diag('hook-owner', rule.origin.loc, `an owner match is reachable from ${forbidden(hooks, OWNER_HOOKS)}; the kernel refuses it there`, undefined, rule.origin.path),
      // Chains that run only where owner matches work need no look at their rules.
      ({ hooks }) => forbidden(hooks, OWNER_HOOKS) !== '',
    ),
};
