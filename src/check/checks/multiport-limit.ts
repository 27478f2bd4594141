import { diag } from '../../diagnostics/diagnostic.js';
import { renderChain } from '../../emit/args.js';
import { MULTIPORT_SLOTS } from '../../packet/ports.js';
import type { Check } from './api.js';
import { eachRuleWith, type ChainSite } from './walk.js';

/** Whether a multiport match of the chain, as rendered, has 8 ranges or more: else no rule of it can exceed the slots. */
const mayExceed = ({ chain, family }: ChainSite): boolean => renderChain(chain, family).most.portRanges >= 8;

export const multiportLimit: Check = {
  code: 'multiport-limit',
  severity: 'error',
  docs: 'A multiport match with more than 15 slots (a range counts 2): iptables refuses it ("too many ports specified"). ipfence splits long port lists into several rules, so this guards the emitter.',
  check: ({ ir }) =>
    eachRuleWith(ir, ['dports'], (rule) => {
      // Indexed: in code not yet optimized, for-of allocates an iterator per rule.
      const ms = rule.matches;
      for (let i = 0; i < ms.length; i++) {
        const m = ms[i]!;
        // Under 8 ranges cannot exceed 15 slots: most rules need no count.
        if (m.kind !== 'dports' || m.ports.length < 8) continue;
        const slots = m.ports.reduce((n, p) => n + (p.lo === p.hi ? 1 : 2), 0);
        if (slots > MULTIPORT_SLOTS) return diag('multiport-limit', rule.origin.loc, `a port match uses ${slots} multiport slots (limit ${MULTIPORT_SLOTS})`, undefined, rule.origin.path);
      }
      return undefined;
    }, mayExceed),
};
