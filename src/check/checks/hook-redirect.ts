import { diag } from '../../diagnostics/diagnostic.js';
import type { Check } from './api.js';
import { misplacedTarget } from './walk.js';

export const hookRedirect: Check = {
  code: 'hook-redirect',
  severity: 'error',
  docs: 'A REDIRECT outside nat PREROUTING/OUTPUT (or a user chain reached from elsewhere). The kernel refuses it when the file is loaded.',
  check: ({ ir }) =>
    misplacedTarget(ir, 'redirect', 'nat', ['PREROUTING', 'OUTPUT'], (rule, where) =>
      diag('hook-redirect', rule.origin.loc, `REDIRECT is only valid in nat PREROUTING and OUTPUT, not ${where}`, undefined, rule.origin.path),
    ),
};
