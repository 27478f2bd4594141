import { diag } from '../../diagnostics/diagnostic.js';
import { ARG_MAX_BYTES, renderChain } from '../../emit/args.js';
import type { Check } from '../check.js';
import { eachRule } from './walk.js';

export const ARGS_MAX = 254;

export const argTooLong: Check = {
  code: 'arg-too-long',
  severity: 'error',
  docs: 'One argument of an emitted rule is over 1023 bytes, or a rule line has more than 254 arguments; iptables-restore refuses the file ("Parameter too long!").',
  check: ({ ir }) =>
    eachRule(ir, (rule, { chain, family }, i) => {
      const lines = renderChain(chain, family);
      const longestArg = lines.longArg[i]!;
      const count = lines.counts[i]!;
      if (longestArg > ARG_MAX_BYTES) return diag('arg-too-long', rule.origin.loc, `an argument of this rule is ${longestArg} bytes (limit ${ARG_MAX_BYTES})`);
      if (count + 2 > ARGS_MAX) return diag('arg-too-long', rule.origin.loc, `this rule has ${count + 2} arguments (limit ${ARGS_MAX})`);
      return undefined;
    }),
};
