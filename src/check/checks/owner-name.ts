import { diag } from '../../diagnostics/diagnostic.js';
import { policyLoc, type Check } from './api.js';

export const ownerName: Check = {
  code: 'owner-name',
  kind: 'lint',
  docs: 'A user or group given by name. iptables resolves names on the host when the file is loaded, and an unknown name makes the whole load fail there. Use the numeric id, or run `ipfence verify` on the host (or one built the same way).',
  example: 'version: 1\nusers:\n  - { user: backup }\n',
  check: (input) =>
    (input.policy.users ?? []).flatMap((u, i) => {
      const key = u.user !== undefined ? 'user' : 'group';
      const v = u.user ?? u.group;
      return typeof v === 'string' && !/^\d+(-\d+)?$/.test(v)
        ? [diag('owner-name', policyLoc(input, ['users', i, key]), `${key} '${v}' is resolved on each host when the rules are loaded; if it does not exist there the load fails. Prefer its numeric id`, undefined, ['users', i])]
        : [];
    }),
};
