import { diag } from '../../../diagnostics/diagnostic.js';
import { renderChain, renderLine } from '../render.js';
import { emittedChains, type Guard } from './api.js';

const LINE_MAX_BYTES = 4096;

/** iptables-restore reads 10,240-byte lines and parses any overflow as a new rule; stay far below. */
export const lineTooLong: Guard = {
  code: 'line-too-long',
  kind: 'limit',
  docs: 'An emitted rule line is longer than 4096 bytes. iptables-restore silently splits lines past 10,239 bytes and parses the rest as another rule. Shorten the rule name or split the rule.',
  check: ({ ir }) =>
    emittedChains(ir).flatMap(({ chain, family }) => {
      const rendered = renderChain(chain, family);
      // At most 3 bytes per UTF-16 unit: a chain of short lines needs no look at its rules.
      if (rendered.most.length * 3 <= LINE_MAX_BYTES) return [];
      return chain.rules.flatMap((r, i) => {
        if (rendered.lengths[i]! * 3 <= LINE_MAX_BYTES) return [];
        const bytes = Buffer.byteLength(renderLine(chain, r, family), 'utf8');
        return bytes > LINE_MAX_BYTES ? [diag('line-too-long', r.origin.loc, `this rule emits a ${bytes}-byte line in ${chain.name} (limit ${LINE_MAX_BYTES}); shorten its name or split it`)] : [];
      });
    }),
};
