import { diag, type Diagnostic } from '../../../diagnostics/diagnostic.js';
import { MULTIPORT_SLOTS } from '../../../model/multiport.js';
import { emittedChains, type Guard } from './api.js';

export const multiportLimit: Guard = {
  code: 'multiport-limit',
  kind: 'limit',
  docs: 'A multiport match with more than 15 slots (a range counts 2): iptables refuses it ("too many ports specified"). ipfence splits long port lists into several rules, so this guards the emitter.',
  check: ({ ir }) => {
    const out: Diagnostic[] = [];
    for (const { chain } of emittedChains(ir)) {
      for (const r of chain.rules) {
        for (const m of r.matches) {
          if (m.kind !== 'dports') continue;
          const slots = m.ports.reduce((n, p) => n + (p.lo === p.hi ? 1 : 2), 0);
          if (slots > MULTIPORT_SLOTS) out.push(diag('multiport-limit', r.origin.loc, `a port match uses ${slots} multiport slots (limit ${MULTIPORT_SLOTS})`, undefined, r.origin.path));
        }
      }
    }
    return out;
  },
};
