import { diag } from '../../diagnostics/diagnostic.js';
import { policyLoc, type Check } from './api.js';

export const dockerFlush: Check = {
  code: 'docker-flush',
  kind: 'lint',
  docs: 'The policy has a `docker:` section but `ownership` is not `coexist`. A full restore flushes every chain of its tables and deletes Docker\'s, breaking every container until Docker restarts (moby/moby#12294). Set `ownership: coexist` and apply with apply.sh.',
  example: 'version: 1\ndocker:\n  published:\n    - { port: 8080 }\n',
  check: (input) =>
    input.policy.docker !== undefined && input.ir.ownership !== 'coexist'
      ? [diag('docker-flush', policyLoc(input, ['docker']), "a Docker host needs `ownership: coexist`: a full restore would wipe Docker's chains and break every container until Docker restarts")]
      : [],
};
