import { diag, type Diagnostic } from '../../diagnostics/diagnostic.js';
import type { IR } from '../../model/ir.js';
import { renderChain, renderLine } from '../render.js';
import type { Guard } from './api.js';

export const LINE_MAX_BYTES = 4096;

/** iptables-restore reads 10,240-byte lines and parses any overflow as a new rule; stay far below. */
export const lineTooLong: Guard = {
  code: 'line-too-long',
  docs: 'An emitted rule line is longer than 4096 bytes. iptables-restore silently splits lines past 10,239 bytes and parses the rest as another rule. Shorten the rule name or split the rule.',
  guard: (ir: IR) => {
    const out: Diagnostic[] = [];
    for (const rs of ir.rulesets) {
      for (const t of rs.tables) {
        for (const c of t.chains) {
          const rendered = renderChain(c, rs.family);
          // At most 3 bytes per UTF-16 unit: a chain of short lines needs no look at its rules.
          if (rendered.most.length * 3 <= LINE_MAX_BYTES) continue;
          c.rules.forEach((r, i) => {
            if (rendered.lengths[i]! * 3 <= LINE_MAX_BYTES) return;
            const bytes = Buffer.byteLength(renderLine(c, r, rs.family), 'utf8');
            if (bytes > LINE_MAX_BYTES) out.push(diag('line-too-long', r.origin.loc, `this rule emits a ${bytes}-byte line in ${c.name} (limit ${LINE_MAX_BYTES}); shorten its name or split it`));
          });
        }
      }
    }
    return out;
  },
};
