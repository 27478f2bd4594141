import { diag } from '../../diagnostics/diagnostic.js';
import type { Check } from '../check.js';
import { forbidden, rules } from './walk.js';

export const hookRedirect: Check = {
  code: 'hook-redirect',
  severity: 'error',
  docs: 'A REDIRECT outside nat PREROUTING/OUTPUT (or a user chain reached from elsewhere). The kernel refuses it when the file is loaded.',
  check: ({ ir }) =>
    [...rules(ir)].flatMap(({ rule, hooks, table }) => {
      if (rule.target.kind !== 'redirect') return [];
      const off = table.name !== 'nat' ? `the ${table.name} table` : forbidden(hooks, ['PREROUTING', 'OUTPUT']);
      return off ? [diag('hook-redirect', rule.origin.loc, `REDIRECT is only valid in nat PREROUTING and OUTPUT, not ${off}`, undefined, rule.origin.path)] : [];
    }),
};
