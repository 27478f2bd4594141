import { diag } from '../../diagnostics/diagnostic.js';
import type { Guard } from './api.js';

export const natPolicy: Guard = {
  code: 'nat-policy',
  docs: 'A built-in nat chain with a policy other than ACCEPT. `iptables -P` refuses it, but a restore file accepts `:OUTPUT DROP` in *nat and then really drops new connections. nat chains always get ACCEPT.',
  guard: (ir) =>
    ir.rulesets.flatMap((rs) =>
      rs.tables.filter((t) => t.name === 'nat').flatMap((t) =>
        t.chains.filter((c) => c.policy !== null && c.policy !== 'ACCEPT').map((c) => diag('nat-policy', { file: '<ipfence>', line: 1, col: 1 }, `nat ${c.name} has policy ${c.policy}; nat chains must be ACCEPT (this is a bug in ipfence, please report it)`)),
      ),
    ),
};
