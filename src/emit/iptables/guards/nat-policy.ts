import { diag } from '../../../diagnostics/diagnostic.js';
import { emittedChains, type Guard } from './api.js';

export const natPolicy: Guard = {
  code: 'nat-policy',
  kind: 'invariant',
  docs: 'A built-in nat chain with a policy other than ACCEPT. `iptables -P` refuses it, but a restore file accepts `:OUTPUT DROP` in *nat and then really drops new connections. nat chains always get ACCEPT.',
  check: ({ ir }) =>
    emittedChains(ir)
      .filter(({ chain, table }) => table.name === 'nat' && chain.policy !== null && chain.policy !== 'ACCEPT')
      .map(({ chain }) => diag('nat-policy', { file: '<ipfence>', line: 1, col: 1 }, `nat ${chain.name} has policy ${chain.policy}; nat chains must be ACCEPT (this is a bug in ipfence, please report it)`)),
};
