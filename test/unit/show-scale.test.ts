import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';
import { modelsOf } from '../../src/packet/path.js';
import { reachable } from '../../src/packet/reach.js';
import { subtractBox, type Box } from '../../src/packet/space.js';
import { describeBox } from '../../src/packet/describe.js';
// @ts-expect-error plain JS generator
import { operatorPolicy } from '../../bench/generate.mjs';

const irOf = (text: string) => {
  const r = compile(text, 'p.yaml', 'p.yaml', { emit: false });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.ir;
};
const minus = (as: readonly Box[], bs: readonly Box[]): Box[] => bs.reduce<Box[]>((parts, b) => parts.flatMap((p) => subtractBox(p, b)), [...as]);

describe('show on large policies', () => {
  it("lists the bench's 2,000-entry operator policy within a bound a loaded machine meets (it took minutes)", () => {
    const ir = irOf(operatorPolicy(2000));
    const t = performance.now();
    let rows = 0;
    for (const m of modelsOf(ir)) {
      for (const d of ['in', 'out', 'forward'] as const) {
        const r = reachable(m, d);
        for (const x of r.rows) describeBox(m.family, x.box, r.start);
        rows += r.rows.length;
      }
    }
    const ms = performance.now() - t;
    expect(rows).toBeGreaterThan(1000);
    // About 55 s here on 2 cores at load 15; before, the outbound path alone was cubic (1,000
    // entries one to three minutes, 10,000 past 300 s): every outbound deny and every user's chain
    // asked alone, each walking past every user's jump, and once more for each redirect of
    // PREROUTING, which never moves a connection this host makes. Cubic, 2,000 is 8x 1,000.
    expect(ms).toBeLessThan(180_000);
  }, 300_000);

  it('asking rules of one verdict together finds exactly the connections asking each alone does', () => {
    const policies = [
      ...readdirSync('examples').filter((f) => f.endsWith('.yaml')).map((f) => readFileSync(`examples/${f}`, 'utf8')),
      operatorPolicy(120),
    ];
    for (const text of policies) {
      for (const m of modelsOf(irOf(text))) {
        for (const d of ['in', 'out', 'forward'] as const) {
          const together = reachable(m, d);
          const alone = reachable(m, d, false);
          expect(together.fallback).toBe(alone.fallback);
          for (const v of ['accept', 'drop', 'reject']) {
            const a = together.rows.filter((r) => r.verdict === v).map((r) => r.box);
            const b = alone.rows.filter((r) => r.verdict === v).map((r) => r.box);
            expect(minus(a, b)).toEqual([]);
            expect(minus(b, a)).toEqual([]);
          }
        }
      }
    }
  }, 300_000);
});
