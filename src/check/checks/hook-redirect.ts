import { diag } from '../../diagnostics/diagnostic.js';
import type { Check } from './api.js';
import { misplacedTarget } from './rule-sites.js';

/** REDIRECT and DNAT rewrite a new connection's destination before routing: nat PREROUTING and OUTPUT only. */
export const hookRedirect: Check = {
  code: 'hook-redirect',
  kind: 'invariant',
  docs: 'A REDIRECT or DNAT outside nat PREROUTING/OUTPUT (or a user chain reached from elsewhere). The kernel refuses it when the file is loaded.',
  check: ({ ir }) =>
    (['redirect', 'dnat'] as const).flatMap((kind) =>
      misplacedTarget(ir, kind, 'nat', ['PREROUTING', 'OUTPUT'], (rule, where) =>
        diag('hook-redirect', rule.origin.loc, `${kind.toUpperCase()} is only valid in nat PREROUTING and OUTPUT, not ${where}`, undefined, rule.origin.path),
      ),
    ),
};
