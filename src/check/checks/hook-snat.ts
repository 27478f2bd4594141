import { diag } from '../../diagnostics/diagnostic.js';
import type { Check } from './api.js';
import { misplacedTarget } from './rule-sites.js';

/** Source NAT happens as a connection's first packet leaves: SNAT in nat POSTROUTING (and INPUT), MASQUERADE in POSTROUTING only. */
export const hookSnat: Check = {
  code: 'hook-snat',
  kind: 'invariant',
  docs: 'An SNAT outside nat INPUT/POSTROUTING, or a MASQUERADE outside nat POSTROUTING (or a user chain reached from elsewhere). The kernel refuses it when the file is loaded.',
  check: ({ ir }) => [
    ...misplacedTarget(ir, 'snat', 'nat', ['INPUT', 'POSTROUTING'], (rule, where) =>
      diag('hook-snat', rule.origin.loc, `SNAT is only valid in nat INPUT and POSTROUTING, not ${where}`, undefined, rule.origin.path),
    ),
    ...misplacedTarget(ir, 'masquerade', 'nat', ['POSTROUTING'], (rule, where) =>
      diag('hook-snat', rule.origin.loc, `MASQUERADE is only valid in nat POSTROUTING, not ${where}`, undefined, rule.origin.path),
    ),
  ],
};
