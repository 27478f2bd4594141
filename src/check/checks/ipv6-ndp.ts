import { diag } from '../../diagnostics/diagnostic.js';
import { policyLoc, type Check } from './api.js';
import { dropsByDefault } from './rule-sites.js';

export const ipv6Ndp: Check = {
  code: 'ipv6-ndp',
  kind: 'lint',
  docs: 'IPv6 INPUT drops by default while `defaults.icmpv6-essentials: false`: neighbour discovery fails, neighbours stay INCOMPLETE and IPv6 connections time out (RFC 4890). Remove the setting, or allow ICMPv6 types 133-136 with hop limit 255 yourself.',
  example: 'version: 1\ndefaults: { input: drop, icmpv6-essentials: false }\ninbound:\n  - { port: 22 }\n',
  check: (input) => {
    const d = input.policy.defaults;
    if (d?.['icmpv6-essentials'] !== false || !dropsByDefault(d, 'input')) return [];
    return [diag('ipv6-ndp', policyLoc(input, ['defaults', 'icmpv6-essentials']), 'IPv6 INPUT drops by default without ICMPv6 neighbour discovery: IPv6 neighbours will not resolve and connections time out')];
  },
};
