import { diag } from '../../diagnostics/diagnostic.js';
import { policyLoc, type Check } from './api.js';

/** Only when the author did not say: `local: false` or `hide-target: false` written out is a decision. */
export const redirectLocal: Check = {
  code: 'redirect-local',
  kind: 'lint',
  docs: 'A redirect that does not say whether connections made on the host itself are redirected (`local`), or whether the target port stays reachable directly (`hide-target`). PREROUTING never sees local traffic, and the target port is open unless hidden. Write `local: true|false` and `hide-target: true|false`.',
  example: 'version: 1\nredirects:\n  - { port: 8445, to-port: 8443 }\n',
  check: (input) =>
    (input.policy.redirects ?? []).flatMap((r, i) => {
      const unsaid = [
        ...(r.local === undefined ? [`connections made on this host to ${r.port} are not redirected (set \`local: true\`, or \`local: false\` to confirm)`] : []),
        ...(r['hide-target'] === undefined ? [`port ${r['to-port']} stays reachable directly (set \`hide-target: true\`, or \`hide-target: false\` to confirm)`] : []),
      ];
      return unsaid.length > 0 ? [diag('redirect-local', policyLoc(input, ['redirects', i]), unsaid.join('; '), undefined, ['redirects', i])] : [];
    }),
};
