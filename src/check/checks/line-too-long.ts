import { diag } from '../../diagnostics/diagnostic.js';
import { renderChain, renderLine } from '../../emit/args.js';
import type { Check } from './api.js';
import { eachRule, type ChainSite } from './walk.js';

export const LINE_MAX_BYTES = 4096;

/** Whether a line of the chain may be over the limit (at most 3 bytes per UTF-16 unit): else its rules need no visit. */
const mayExceed = ({ chain, family }: ChainSite): boolean => renderChain(chain, family).most.length * 3 > LINE_MAX_BYTES;

/** iptables-restore reads 10,240-byte lines and parses any overflow as a new rule; stay far below. */
export const lineTooLong: Check = {
  code: 'line-too-long',
  severity: 'error',
  docs: 'An emitted rule line is longer than 4096 bytes. iptables-restore silently splits lines past 10,239 bytes and parses the rest as another rule. Shorten the rule name or split the rule.',
  check: ({ ir }) =>
    eachRule(ir, (rule, { family, chain }, i) => {
      // Bytes are at most 3 per UTF-16 unit: short lines need no count (nor their text again).
      const bytes = renderChain(chain, family).lengths[i]! * 3 <= LINE_MAX_BYTES ? 0 : Buffer.byteLength(renderLine(chain, rule, family), 'utf8');
      return bytes > LINE_MAX_BYTES ? diag('line-too-long', rule.origin.loc, `this rule emits a ${bytes}-byte line in ${chain.name} (limit ${LINE_MAX_BYTES}); shorten its name or split it`) : undefined;
    }, mayExceed),
};
