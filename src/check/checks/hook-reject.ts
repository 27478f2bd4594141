import { diag } from '../../diagnostics/diagnostic.js';
import type { Check } from './api.js';
import { misplacedTarget } from './rule-sites.js';

export const hookReject: Check = {
  code: 'hook-reject',
  kind: 'invariant',
  docs: 'A REJECT outside filter INPUT/FORWARD/OUTPUT (or a user chain reached from elsewhere). iptables-restore --test accepts it; the kernel refuses it on the real load.',
  check: ({ ir }) =>
    misplacedTarget(ir, 'reject', 'filter', ['INPUT', 'FORWARD', 'OUTPUT'], (rule, where) =>
      diag('hook-reject', rule.origin.loc, `REJECT is only valid in filter INPUT, FORWARD and OUTPUT, not ${where}`, undefined, rule.origin.path),
    ),
};
