import { diag } from '../../diagnostics/diagnostic.js';
import { policyLoc, type Check } from './api.js';
import { dropsByDefault, someRule } from './rule-sites.js';

const ACCEPTING = new Set(['accept', 'jump', 'return']);

export const sshLockout: Check = {
  code: 'ssh-lockout',
  kind: 'lint',
  docs: 'INPUT drops by default and no rule accepts tcp port 22: loading the rules over SSH locks you out. Add an inbound allow for port 22, ideally `from` an admin address set.',
  example: 'version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: [80, 443] }\n',
  check: (input) => {
    if (!dropsByDefault(input.policy.defaults, 'input')) return [];
    // By hook, not chain name: in coexist mode INPUT's rules live in IPFENCE-INPUT.
    const allows22 = someRule(input.ir, (rule, { table, hooks }) =>
      table.name === 'filter' && hooks.has('INPUT') && ACCEPTING.has(rule.target.kind) &&
      rule.matches.some((m) => m.kind === 'dports' && m.proto === 'tcp' && m.ports.some((p) => p.lo <= 22 && 22 <= p.hi)));
    return allows22 ? [] : [diag('ssh-lockout', policyLoc(input, ['defaults', 'input']), 'INPUT drops by default and nothing allows tcp port 22: loading this over SSH locks you out; add an inbound allow for port 22')];
  },
};
