import { diag } from '../../diagnostics/diagnostic.js';
import { MULTIPORT_SLOTS } from '../../packet/ports.js';
import { renderChain } from '../render.js';
import { emittedChains, type Guard } from './api.js';

export const multiportLimit: Guard = {
  code: 'multiport-limit',
  docs: 'A multiport match with more than 15 slots (a range counts 2): iptables refuses it ("too many ports specified"). ipfence splits long port lists into several rules, so this guards the emitter.',
  guard: (ir) =>
    emittedChains(ir).flatMap(({ chain, family }) => {
      // The renderer counts each chain's largest multiport match: most chains need no look at their rules.
      if (renderChain(chain, family).most.slots <= MULTIPORT_SLOTS) return [];
      return chain.rules.flatMap((r) =>
        r.matches.flatMap((m) => {
          if (m.kind !== 'dports') return [];
          const slots = m.ports.reduce((n, p) => n + (p.lo === p.hi ? 1 : 2), 0);
          return slots > MULTIPORT_SLOTS ? [diag('multiport-limit', r.origin.loc, `a port match uses ${slots} multiport slots (limit ${MULTIPORT_SLOTS})`, undefined, r.origin.path)] : [];
        }),
      );
    }),
};
