import { diag } from '../../diagnostics/diagnostic.js';
import { renderRule } from '../../emit/args.js';
import type { Check } from '../check.js';
import { rules } from './walk.js';

export const ARG_MAX_BYTES = 1023;
export const ARGS_MAX = 254;

export const argTooLong: Check = {
  code: 'arg-too-long',
  severity: 'error',
  docs: 'One argument of an emitted rule is over 1023 bytes, or a rule line has more than 254 arguments; iptables-restore refuses the file ("Parameter too long!").',
  check: ({ ir }) => {
    const out = [];
    for (const { family, rule } of rules(ir)) {
      const { count, longestArg } = renderRule(rule, family);
      if (longestArg > ARG_MAX_BYTES) out.push(diag('arg-too-long', rule.origin.loc, `an argument of this rule is ${longestArg} bytes (limit ${ARG_MAX_BYTES})`));
      else if (count + 2 > ARGS_MAX) out.push(diag('arg-too-long', rule.origin.loc, `this rule has ${count + 2} arguments (limit ${ARGS_MAX})`));
    }
    return out;
  },
};
