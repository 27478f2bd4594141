import { diag } from '../../diagnostics/diagnostic.js';
import type { Check } from './api.js';
import { eachRuleWith, forbidden, type ChainSite } from './rule-sites.js';

const IN_HOOKS = ['PREROUTING', 'INPUT', 'FORWARD'];
const OUT_HOOKS = ['FORWARD', 'OUTPUT', 'POSTROUTING'];

/** -i only exists where a packet arrived; -o only where it leaves. User chains inherit their callers' hooks. */
export const hookInterface: Check = {
  code: 'hook-interface',
  kind: 'invariant',
  docs: 'A rule matches an input interface (-i) in a chain reachable from OUTPUT or POSTROUTING, or an output interface (-o) in one reachable from INPUT or PREROUTING. iptables checks this only for built-in chains; inside a user chain the rule loads and never matches.',
  check: ({ ir }) =>
    eachRuleWith(
      ir,
      ['in', 'out'],
      (rule, { hooks, chain }) => {
        const bad = rule.matches.flatMap((m) => {
          const off = m.kind === 'in' ? forbidden(hooks, IN_HOOKS) : m.kind === 'out' ? forbidden(hooks, OUT_HOOKS) : '';
          return off ? [`${m.kind === 'in' ? '-i' : '-o'} in ${chain.name} (reached from ${off})`] : [];
        });
        return bad.length > 0 ? diag('hook-interface', rule.origin.loc, `this rule matches ${bad.join(', ')}, where the kernel never sets that interface: it can never match`, undefined, rule.origin.path) : undefined;
      },
      // Most chains run only in hooks where both -i and -o may be matched.
      ({ hooks }: ChainSite) => forbidden(hooks, IN_HOOKS) !== '' || forbidden(hooks, OUT_HOOKS) !== '',
    ),
};
