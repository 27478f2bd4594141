import { diag } from '../../diagnostics/diagnostic.js';
import type { Check } from '../check.js';
import { forbidden, rules } from './walk.js';

export const hookReject: Check = {
  code: 'hook-reject',
  severity: 'error',
  docs: 'A REJECT outside filter INPUT/FORWARD/OUTPUT (or a user chain reached from elsewhere). iptables-restore --test accepts it; the kernel refuses it on the real load.',
  check: ({ ir }) =>
    [...rules(ir)].flatMap(({ rule, hooks, table }) => {
      if (rule.target.kind !== 'reject') return [];
      const off = table.name !== 'filter' ? `the ${table.name} table` : forbidden(hooks, ['INPUT', 'FORWARD', 'OUTPUT']);
      return off ? [diag('hook-reject', rule.origin.loc, `REJECT is only valid in filter INPUT, FORWARD and OUTPUT, not ${off}`, undefined, rule.origin.path)] : [];
    }),
};
