import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GUARDS } from '../../src/emit/iptables/guards/index.js';
import { SUPPRESSIBLE } from '../../src/diagnostics/codes.js';
import { accept, jump, type IR } from '../../src/model/ir.js';
import { irOf, irWith, manyPorts } from '../helpers/ir.js';

/** Each guard of the output on hand-built IR: no valid policy reaches one (ipfence caps names, prefixes and port lists earlier). */
const TABLES: Record<string, { valid: IR[]; invalid: { ir: IR; message: RegExp }[] }> = {
  'line-too-long': { valid: [irWith('short'), irWith('x'.repeat(1000))], invalid: [{ ir: irWith('é'.repeat(2100)), message: /42\d\d-byte line in INPUT/ }] },
  'arg-too-long': {
    valid: [irWith('x'.repeat(1000)), irWith('ok', manyPorts.slice(0, 60))],
    invalid: [{ ir: irWith('x'.repeat(1100)), message: /1102 bytes \(limit 1023\)/ }, { ir: irWith('ok', manyPorts), message: /arguments \(limit 254\)/ }],
  },
  'nat-policy': {
    valid: [irOf({ nat: { OUTPUT: [] } })],
    invalid: [{ ir: irOf({ nat: { OUTPUT: [] } }, 'ipv4', { OUTPUT: 'DROP' }), message: /nat OUTPUT has policy DROP/ }],
  },
  'multiport-limit': {
    valid: [irOf({ filter: { INPUT: [[[{ kind: 'dports', proto: 'tcp', ports: Array.from({ length: 15 }, (_, i) => ({ lo: i + 1, hi: i + 1 })) }], accept]] } })],
    invalid: [{ ir: irOf({ filter: { INPUT: [[[{ kind: 'dports', proto: 'tcp', ports: Array.from({ length: 8 }, (_, i) => ({ lo: i * 10 + 1, hi: i * 10 + 2 })) }], accept]] } }), message: /16 multiport slots/ }],
  },
  'chain-name': {
    valid: [irOf({ filter: { INPUT: [[[], jump('ipf-in-1')]], 'ipf-in-1': [[[], accept]] } })],
    invalid: [
      { ir: irOf({ filter: { 'a-chain-name-that-is-far-too-long': [[[], accept]] } }), message: /longer than 28/ },
      { ir: irOf({ filter: { accept: [[[], accept]] } }), message: /is a target name/ },
    ],
  },
  'chain-loop': {
    valid: [irOf({ filter: { INPUT: [[[], jump('a')]], a: [[[], jump('b')]], b: [[[], accept]] } })],
    invalid: [
      { ir: irOf({ filter: { INPUT: [[[], jump('missing')]] } }), message: /jump to 'missing', which filter does not declare/ },
      { ir: irOf({ filter: { INPUT: [[[], jump('a')]], a: [[[], jump('b')]], b: [[[], jump('a')]] } }), message: /form a loop/ },
    ],
  },
};

describe('the guards of the output', () => {
  it('lists each guard module once in the index', () => {
    const files = readdirSync('src/emit/iptables/guards').filter((f) => f.endsWith('.ts') && !['api.ts', 'index.ts'].includes(f)).map((f) => f.replace(/\.ts$/, '')).sort();
    expect(GUARDS.map((g) => g.code).sort()).toEqual(files);
  });
  it.each(GUARDS.map((g) => [g.code, g] as const))('%s has docs and a test table', (code, g) => {
    expect(g.docs.length).toBeGreaterThan(40);
    expect(g.kind).not.toBe('lint');
    expect(SUPPRESSIBLE).not.toContain(code);
    expect(TABLES[code], `no test table for ${code}`).toBeDefined();
  });
});

for (const [code, t] of Object.entries(TABLES)) {
  const guard = GUARDS.find((g) => g.code === code)!;
  describe(code, () => {
    it('has valid and invalid cases', () => {
      expect(t.valid.length).toBeGreaterThan(0);
      expect(t.invalid.length).toBeGreaterThan(0);
    });
    it.each(t.valid.map((ir, i) => [i, ir] as const))('valid #%i', (_i, ir) => {
      expect(guard.check({ ir })).toEqual([]);
    });
    it.each(t.invalid.map((c, i) => [i, c] as const))('invalid #%i', (_i, c) => {
      const found = guard.check({ ir: c.ir });
      expect(found.map((d) => d.code)).toEqual([code]);
      expect(found[0]!.message).toMatch(c.message);
    });
  });
}
