import { diag } from '../../diagnostics/diagnostic.js';
import { ARG_MAX_BYTES, renderChain } from '../../emit/args.js';
import type { Check } from './api.js';
import { eachRule, type ChainSite } from './walk.js';

export const ARGS_MAX = 254;

/** Whether a rule of the chain may be over a limit: most chains have none near one, and their rules need no visit. */
function mayExceed({ chain, family }: ChainSite): boolean {
  const { most } = renderChain(chain, family);
  return most.longArg > ARG_MAX_BYTES || most.count + 2 > ARGS_MAX;
}

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
    }, mayExceed),
};
