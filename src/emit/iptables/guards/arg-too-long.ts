import { diag, type Diagnostic } from '../../../diagnostics/diagnostic.js';
import { ARG_MAX_BYTES, renderChain } from '../render.js';
import { emittedChains, type Guard } from './api.js';

const ARGS_MAX = 254;

export const argTooLong: Guard = {
  code: 'arg-too-long',
  kind: 'limit',
  docs: 'One argument of an emitted rule is over 1023 bytes, or a rule line has more than 254 arguments; iptables-restore refuses the file ("Parameter too long!").',
  check: ({ ir }) =>
    emittedChains(ir).flatMap(({ chain, family }) => {
      const { most, longArg, counts } = renderChain(chain, family);
      // `-A CHAIN` are two more arguments of each line.
      if (most.longArg <= ARG_MAX_BYTES && most.count + 2 <= ARGS_MAX) return [];
      const out: Diagnostic[] = [];
      chain.rules.forEach((r, i) => {
        if (longArg[i]! > ARG_MAX_BYTES) out.push(diag('arg-too-long', r.origin.loc, `an argument of this rule is ${longArg[i]} bytes (limit ${ARG_MAX_BYTES})`));
        else if (counts[i]! + 2 > ARGS_MAX) out.push(diag('arg-too-long', r.origin.loc, `this rule has ${counts[i]! + 2} arguments (limit ${ARGS_MAX})`));
      });
      return out;
    }),
};
