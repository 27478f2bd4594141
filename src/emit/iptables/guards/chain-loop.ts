import { diag, type Diagnostic } from '../../../diagnostics/diagnostic.js';
import type { Guard } from './api.js';

export const chainLoop: Guard = {
  code: 'chain-loop',
  kind: 'invariant',
  docs: 'A jump to a chain that is not declared in the same table, or jumps that form a loop (the kernel refuses: "Too many links"). ipfence creates its own chains, so this guards the emitter.',
  check: ({ ir }) =>
    ir.rulesets.flatMap((rs) =>
      rs.tables.flatMap((t) => {
        const byName = new Map(t.chains.map((c) => [c.name, c]));
        const out: Diagnostic[] = [];
        const jumps = new Map(t.chains.map((c) => [c.name, c.rules.filter((r) => r.target.kind === 'jump')]));
        for (const c of t.chains) {
          for (const r of jumps.get(c.name)!) {
            if (r.target.kind === 'jump' && !byName.has(r.target.chain)) out.push(diag('chain-loop', r.origin.loc, `jump to '${r.target.chain}', which ${t.name} does not declare`, undefined, r.origin.path));
          }
        }
        const state = new Map<string, 'visiting' | 'done'>();
        const visit = (name: string): boolean => {
          if (state.get(name) === 'visiting') return true;
          if (state.get(name) === 'done') return false;
          state.set(name, 'visiting');
          const loops = (jumps.get(name) ?? []).some((r) => r.target.kind === 'jump' && visit(r.target.chain));
          state.set(name, 'done');
          return loops;
        };
        for (const c of t.chains) {
          if (visit(c.name)) {
            const first = jumps.get(c.name)![0];
            out.push(diag('chain-loop', first?.origin.loc ?? { file: '<ipfence>', line: 1, col: 1 }, `jumps starting at '${c.name}' in ${t.name} form a loop`));
            break;
          }
        }
        return out;
      }),
    ),
};
