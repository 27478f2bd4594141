import { describe, expect, it } from 'vitest';
import { load } from '../../src/load/load.js';
import { normalize } from '../../src/normalize/normalize.js';
import { compile } from '../../src/pipeline.js';
import { validate } from '../../src/validate/validate.js';
// @ts-expect-error plain JS generator
import { ipfencePolicy } from '../../bench/generate.mjs';

const big = ipfencePolicy(1500) as string;
const value = (text: string) => load(text, 'p.yaml').loaded?.value as Record<string, unknown> | undefined;

describe('one meaning for every policy, at every size', () => {
  it('the fast path reads exactly what the full parser reads', () => {
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
    expect(r.diagnostics.map((d) => [d.code, d.line, d.col])).toContainEqual(['schema-value', 1201, lines[1200]!.indexOf('70000') + 1]);
    const fixedPort = lines.join('\n').replace('port: 70000', 'port: 7000');
    const r2 = compile(fixedPort, 'p.yaml');
    expect(r2.diagnostics.map((d) => [d.code, d.line, d.col])).toEqual([['address-invalid', 1301, lines[1300]!.indexOf('db.example.com') + 1]]);
  });
  it('YAML 1.1 forms mean what YAML 1.2 says, in a small policy and in a large one alike', () => {
    const forms = 'x-octal: 022\nx-yes: yes\nx-sexagesimal: 1:20\nx-binary: 0b10110\n';
    for (const text of [`version: 1\n${forms}`, `${big}${forms}`]) {
      const v = value(text)!;
      expect([v['x-octal'], v['x-yes'], v['x-sexagesimal'], v['x-binary']], `${text.length} characters`).toEqual([22, 'yes', '1:20', '0b10110']);
    }
  });
  it('a %YAML directive other than 1.2 is an error at its line, in a small policy and in a large one', () => {
    for (const body of ['version: 1\ninbound:\n  - { port: 022 }\n', big]) {
      const r = load(`%YAML 1.1\n---\n${body}`, 'p.yaml');
      expect(r.loaded).toBeUndefined();
      expect(r.diagnostics.map((d) => [d.code, d.line, d.col])).toEqual([['yaml-syntax', 1, 1]]);
      expect(r.diagnostics[0]!.message).toContain('ipfence reads YAML 1.2 only');
    }
    expect(load('%YAML 1.2\n---\nversion: 1\n', 'p.yaml').loaded?.value).toEqual({ version: 1 });
  });
  it('a merge key is an ordinary key in YAML 1.2: the schema refuses it', () => {
    const r = compile('version: 1\nx-base: &b { port: 22 }\ninbound:\n  - <<: *b\n', 'p.yaml');
    expect(r.diagnostics.map((d) => [d.code, d.line, d.col])).toContainEqual(['schema-unknown-key', 4, 5]);
  });
  it('keys that are the same name as two YAML types (true and "true") are a duplicate, naming both', () => {
    const r = load('version: 1\ntrue: 1\n"true": 2\n', 'p.yaml');
    expect(r.diagnostics.map((d) => [d.code, d.line, d.col, d.related?.map((x) => [x.line, x.col])])).toEqual([['yaml-duplicate-key', 3, 1, [[2, 1]]]]);
    expect(r.diagnostics[0]!.message).toBe('the key "true" is the same name as true at line 2, column 1 (YAML reads them as different types, the policy as one key); keep one of them');
    expect(load('version: 1\n~: 1\n"": 2\n', 'p.yaml').diagnostics.map((d) => d.code)).toEqual(['yaml-duplicate-key']);
  });
  it('a list or mapping as a key is an error at the key', () => {
    const r = load('version: 1\n? [a, b]\n: 1\n', 'p.yaml');
    expect(r.diagnostics.map((d) => [d.code, d.line, d.col, d.message])).toEqual([['yaml-syntax', 2, 3, "a list as a key: a policy's keys are names"]]);
  });
  it('nesting deeper than 64 levels is a policy error at the place, at any depth and file size', () => {
    for (const depth of [65, 3000, 200_000]) {
      const flow = `version: 1\nx-deep: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
      const r = compile(flow, 'p.yaml');
      // The top mapping and its key are two levels: the 63rd bracket is the 65th level.
      expect(r.diagnostics.map((d) => [d.code, d.line, d.col]), `${depth} [`).toEqual([['yaml-syntax', 2, 9 + 62]]);
    }
    const block = `version: 1\nx-deep:\n${Array.from({ length: 100 }, (_, i) => `${' '.repeat(2 * i + 2)}k${i}:`).join('\n')}\n`;
    expect(compile(block, 'p.yaml').diagnostics.map((d) => d.code)).toEqual(['yaml-syntax']);
    const dashes = `version: 1\nx-deep: ${'- '.repeat(80)}x\n`;
    expect(compile(dashes, 'p.yaml').diagnostics.map((d) => d.code)).toEqual(['yaml-syntax']);
    // Brackets in quotes, comments and block scalars are text.
    const text = `version: 1\nx-a: "${'['.repeat(100)}"\nx-b: '${'{'.repeat(100)}'\n# ${'['.repeat(100)}\nx-c: |\n  ${'['.repeat(100)}\nx-d: plain${'['.repeat(100)}\n`;
    expect(load(text, 'p.yaml').diagnostics).toEqual([]);
  });
  it('an empty sequence entry is read as the full parser reads it', () => {
    for (const notes of ['x-notes:\n  -\n    -\n  - ssh\n', 'x-notes:\n  - -\n  - ssh\n', 'x-notes:\n  -\n    - # why\n  - ssh\n']) {
      const text = `${big}${notes}`;
      expect(value(text)!['x-notes'], notes).toEqual([[null], 'ssh']);
    }
  });
  it('duplicate keys and aliases take the full parser, with its positioned errors and alias limits', () => {
    const dup = `${big}version: 1\n`;
    expect(compile(dup, 'p.yaml').diagnostics.map((d) => d.code)).toEqual(['yaml-duplicate-key']);
    const aliased = `${big}x-anchor: &a [1]\ny: *a\n`;
    expect(compile(aliased, 'p.yaml').diagnostics.map((d) => d.code)).toContain('schema-unknown-key');
  });
});
