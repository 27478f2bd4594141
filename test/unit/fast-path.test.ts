import { describe, expect, it } from 'vitest';
import { FAST_PARSE_BYTES, load } from '../../src/load/load.js';
import { normalize } from '../../src/normalize/normalize.js';
import { compile } from '../../src/pipeline.js';
import { validate } from '../../src/validate/validate.js';
// @ts-expect-error plain JS generator
import { ipfencePolicy } from '../../bench/generate.mjs';

const big = ipfencePolicy(1500) as string;

describe('large policies take the fast YAML path', () => {
  it('only above the size threshold', () => {
    expect(big.length).toBeGreaterThan(FAST_PARSE_BYTES);
  });
  it('the fast path reads exactly what the position-keeping path reads', () => {
    const fast = load(big, 'p.yaml');
    const slow = load(big, 'p.yaml', { fastPath: false });
    expect(fast.loaded!.value).toEqual(slow.loaded!.value);
    const a = normalize(validate(fast.loaded!.value, fast.loaded!.source).policy!, fast.loaded!.source);
    const b = normalize(validate(slow.loaded!.value, slow.loaded!.source).policy!, slow.loaded!.source);
    expect(JSON.stringify(a.ir)).toBe(JSON.stringify(b.ir));
  });
  it('diagnostics still point at the exact line and column', () => {
    const lines = big.split('\n');
    lines[1200] = lines[1200]!.replace(/port: \d+/, 'port: 70000');
    lines[1300] = lines[1300]!.replace(/from: \[/, 'from: [db.example.com, ');
    const r = compile(lines.join('\n'), 'p.yaml');
    expect(r.diagnostics.map((d) => [d.code, d.line, d.col])).toEqual([['schema-value', 1201, lines[1200]!.indexOf('70000') + 1]]);
    const fixedPort = lines.join('\n').replace('port: 70000', 'port: 7000');
    const r2 = compile(fixedPort, 'p.yaml');
    expect(r2.diagnostics.map((d) => [d.code, d.line, d.col])).toEqual([['address-invalid', 1301, lines[1300]!.indexOf('db.example.com') + 1]]);
  });
  it('an empty sequence entry falls back to yaml, which ends its sequence where js-yaml does not', () => {
    for (const notes of ['x-notes:\n  -\n    -\n  - ssh\n', 'x-notes:\n  - -\n  - ssh\n', 'x-notes:\n  -\n    - # why\n  - ssh\n']) {
      const text = `${big}${notes}`;
      const fast = load(text, 'p.yaml');
      expect((fast.loaded!.value as Record<string, unknown>)['x-notes'], notes).toEqual([[null], 'ssh']);
      expect(fast.loaded!.value).toEqual(load(text, 'p.yaml', { fastPath: false }).loaded!.value);
    }
  });
  it('duplicate keys and aliases fall back to yaml, with its positioned errors and alias limits', () => {
    const dup = `${big}version: 1\n`;
    expect(compile(dup, 'p.yaml').diagnostics.map((d) => d.code)).toEqual(['yaml-duplicate-key']);
    const aliased = `${big}x-anchor: &a [1]\ny: *a\n`;
    expect(compile(aliased, 'p.yaml').diagnostics.map((d) => d.code)).toContain('schema-unknown-key');
  });
});
