import { describe, expect, it } from 'vitest';
import type { Code } from '../../src/diagnostics/codes.js';
import { compile } from '../../src/pipeline.js';

export interface Invalid {
  readonly policy: string;
  readonly errors: readonly { readonly code: Code; readonly line: number; readonly column: number; readonly message?: RegExp }[];
}

export interface CheckTable {
  readonly valid: readonly string[];
  readonly invalid: readonly Invalid[];
}

/** Tables checked like ESLint's RuleTester: no empty invalid case, no duplicates, exact findings. */
export function runCheckTable(code: Code, table: CheckTable): void {
  const all = [...table.valid, ...table.invalid.map((c) => c.policy)];
  describe(code, () => {
    it('has no duplicate cases and every invalid case expects a finding', () => {
      expect(new Set(all).size).toBe(all.length);
      for (const c of table.invalid) expect(c.errors.length).toBeGreaterThan(0);
      expect(table.valid.length).toBeGreaterThan(0);
    });
    it.each(table.valid.map((p) => [p]))('valid: %s', (policy) => {
      expect(compile(policy, 'policy.yaml').diagnostics.filter((d) => d.code === code)).toEqual([]);
    });
    it.each(table.invalid.map((c) => [c.policy, c] as const))('invalid: %s', (_p, c) => {
      const found = compile(c.policy, 'policy.yaml').diagnostics.filter((d) => d.code === code);
      expect(found.map((d) => ({ code: d.code, line: d.line, column: d.col }))).toEqual(c.errors.map((e) => ({ code: e.code, line: e.line, column: e.column })));
      c.errors.forEach((e, i) => e.message && expect(found[i]!.message).toMatch(e.message));
    });
  });
}
