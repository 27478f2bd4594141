import { diag } from '../../diagnostics/diagnostic.js';
import type { Check } from './api.js';
import { misplacedTarget } from './rule-sites.js';

/** The CT target attaches a conntrack template before conntrack runs: only the raw table does that. */
export const hookNotrack: Check = {
  code: 'hook-notrack',
  kind: 'invariant',
  docs: 'A CT target (--notrack, --helper) outside raw PREROUTING/OUTPUT (or a user chain reached from elsewhere). The kernel refuses it when the file is loaded.',
  check: ({ ir }) =>
    (['notrack', 'helper'] as const).flatMap((kind) =>
      misplacedTarget(ir, kind, 'raw', ['PREROUTING', 'OUTPUT'], (rule, where) =>
        diag('hook-notrack', rule.origin.loc, `CT --${kind} is only valid in raw PREROUTING and OUTPUT, not ${where}`, undefined, rule.origin.path),
      ),
    ),
};
