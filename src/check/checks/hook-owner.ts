import { diag } from '../../diagnostics/diagnostic.js';
import type { Check } from '../check.js';
import { forbidden, rules } from './walk.js';

export const hookOwner: Check = {
  code: 'hook-owner',
  severity: 'error',
  docs: 'An owner (uid/gid) match is reachable from PREROUTING, INPUT or FORWARD. Only locally generated packets have an owner; the kernel refuses the rule (EINVAL) when the file is loaded. Owner rules belong to outbound traffic (`users:`).',
  check: ({ ir }) =>
    rules(ir).flatMap(({ rule, hooks }) => {
      const off = rule.matches.some((m) => m.kind === 'owner') ? forbidden(hooks, ['OUTPUT', 'POSTROUTING']) : '';
      return off ? [diag('hook-owner', rule.origin.loc, `an owner match is reachable from ${off}; the kernel refuses it there`, undefined, rule.origin.path)] : [];
    }),
};
