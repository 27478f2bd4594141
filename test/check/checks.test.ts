import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../src/check/index.js';
import { argTooLong } from '../../src/check/checks/arg-too-long.js';
import { lineTooLong } from '../../src/check/checks/line-too-long.js';
import { accept, chain, rule, ruleset, table, type IR, type Match } from '../../src/ir/ir.js';
import { load } from '../../src/load/load.js';
import { runCheckTable, type CheckTable } from './rule-tester.js';

const TABLES: Record<string, CheckTable> = {
  'ssh-lockout': {
    valid: [
      'version: 1\n',
      'version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: 22, from: 192.0.2.0/24 }\n',
      'version: 1\ndefaults: { input: reject }\ninbound:\n  - { port: "20-30" }\n',
      'version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: 22, from: 10.0.0.0/8, except: 10.0.0.5 }\n',
    ],
    invalid: [
      { policy: 'version: 1\ndefaults: { input: drop }\n', errors: [{ code: 'ssh-lockout', line: 2, column: 20, message: /locks you out/ }] },
      { policy: 'version: 1\ndefaults:\n  input: reject\ninbound:\n  - { port: 22, proto: udp }\n  - { port: 22, action: drop }\n', errors: [{ code: 'ssh-lockout', line: 3, column: 10 }] },
    ],
  },
  'no-established': {
    valid: ['version: 1\ndefaults: { established: false }\n', 'version: 1\ndefaults: { input: drop, established: true }\ninbound: [{ port: 22 }]\n'],
    invalid: [{ policy: 'version: 1\ndefaults: { output: drop, established: false }\n', errors: [{ code: 'no-established', line: 2, column: 40, message: /output drop by default/ }] }],
  },
  'ipv6-ndp': {
    valid: ['version: 1\ndefaults: { icmpv6-essentials: false }\n', 'version: 1\ndefaults: { input: drop }\ninbound: [{ port: 22 }]\n'],
    invalid: [{ policy: 'version: 1\ndefaults:\n  input: drop\n  icmpv6-essentials: false\ninbound: [{ port: 22 }]\n', errors: [{ code: 'ipv6-ndp', line: 4, column: 22 }] }],
  },
};

describe('every check is registered, documented and tested', () => {
  it('lists each check module once in the index', () => {
    const files = readdirSync('src/check/checks').filter((f) => f.endsWith('.ts') && f !== 'walk.ts').map((f) => f.replace(/\.ts$/, '')).sort();
    expect(CHECKS.map((c) => c.code).sort()).toEqual(files);
  });
  it.each(CHECKS.map((c) => [c.code, c] as const))('%s has docs and a test table', (code, c) => {
    expect(c.docs.length).toBeGreaterThan(40);
    expect(TABLES[code] ?? IR_TABLES[code], `no test table for ${code}`).toBeDefined();
  });
});

for (const [code, table] of Object.entries(TABLES)) runCheckTable(code as never, table);

/**
 * line-too-long and arg-too-long guard the emitter itself: no valid policy reaches them (names,
 * prefixes and multiport lists are capped earlier), so they are tested on hand-built IR.
 */
const source = load('version: 1\n', 'policy.yaml').loaded!.source;
const loc = { file: 'policy.yaml', line: 7, col: 5 };
const irWith = (label: string, matches: Match[] = []): IR => ({
  kind: 'ir',
  routes: [],
  rulesets: [ruleset('ipv4', [table('filter', [chain('INPUT', 'ACCEPT', [rule(matches, accept, { path: ['inbound', 0], loc, label })])])])],
});
const manyPorts: Match[] = Array.from({ length: 130 }, (_, i) => ({ kind: 'ctorigdstport', ports: { lo: i + 1, hi: i + 1 } }));
const IR_TABLES: Record<string, { valid: IR[]; invalid: { ir: IR; line: number; column: number; message: RegExp }[]; check: typeof lineTooLong }> = {
  'line-too-long': {
    check: lineTooLong,
    valid: [irWith('short'), irWith('x'.repeat(1000))],
    invalid: [{ ir: irWith('é'.repeat(2100)), line: 7, column: 5, message: /42\d\d-byte line in INPUT/ }],
  },
  'arg-too-long': {
    check: argTooLong,
    valid: [irWith('x'.repeat(1000)), irWith('ok', manyPorts.slice(0, 60))],
    invalid: [
      { ir: irWith('x'.repeat(1100)), line: 7, column: 5, message: /1102 bytes \(limit 1023\)/ },
      { ir: irWith('ok', manyPorts), line: 7, column: 5, message: /arguments \(limit 254\)/ },
    ],
  },
};

for (const [code, t] of Object.entries(IR_TABLES)) {
  describe(`${code} (on IR)`, () => {
    it.each(t.valid.map((ir, i) => [i, ir] as const))('valid #%i', (_i, ir) => {
      expect(t.check.check({ ir, policy: { version: 1 }, source })).toEqual([]);
    });
    it.each(t.invalid.map((c, i) => [i, c] as const))('invalid #%i', (_i, c) => {
      const found = t.check.check({ ir: c.ir, policy: { version: 1 }, source });
      expect(found.map((d) => [d.code, d.line, d.col])).toEqual([[code, c.line, c.column]]);
      expect(found[0]!.message).toMatch(c.message);
    });
  });
}
