import { diag } from '../../diagnostics/diagnostic.js';
import { ruleArgs } from '../../emit/args.js';
import type { Check } from '../check.js';
import { rules } from './walk.js';

export const ARG_MAX_BYTES = 1023;
export const ARGS_MAX = 254;

export const argTooLong: Check = {
  code: 'arg-too-long',
  severity: 'error',
  docs: 'One argument of an emitted rule is over 1023 bytes, or a rule line has more than 254 arguments; iptables-restore refuses the file ("Parameter too long!").',
  check: ({ ir }) =>
    rules(ir).flatMap(({ family, rule }) => {
      const args = ruleArgs(rule, family);
      const long = args.find((a) => Buffer.byteLength(a, 'utf8') > ARG_MAX_BYTES);
      if (long) return [diag('arg-too-long', rule.origin.loc, `an argument of this rule is ${Buffer.byteLength(long, 'utf8')} bytes (limit ${ARG_MAX_BYTES})`)];
      return args.length + 2 > ARGS_MAX ? [diag('arg-too-long', rule.origin.loc, `this rule has ${args.length + 2} arguments (limit ${ARGS_MAX})`)] : [];
    }),
};
