import { diag } from '../../diagnostics/diagnostic.js';
import { policyLoc, type Check } from './api.js';
import { dropsByDefault } from './rule-sites.js';

export const noEstablished: Check = {
  code: 'no-established',
  kind: 'lint',
  docs: "A filter chain drops by default while `defaults.established: false` removed the ESTABLISHED,RELATED and loopback accepts: replies to this host's own connections and loopback traffic time out. Remove `established: false` unless you accept replies yourself.",
  example: 'version: 1\ndefaults: { input: drop, established: false }\ninbound:\n  - { port: 22 }\n',
  check: (input) => {
    const d = input.policy.defaults;
    if (d?.established !== false) return [];
    const chains = (['input', 'forward', 'output'] as const).filter((k) => dropsByDefault(d, k));
    return chains.length === 0 ? [] : [diag('no-established', policyLoc(input, ['defaults', 'established']), `${chains.join(', ')} drop by default but the established/loopback accepts are turned off: replies and loopback traffic will time out`)];
  },
};
