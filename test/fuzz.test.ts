import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { main } from '../src/cli/main.js';
import { memoryIO } from './helpers/io.js';
import { policyArb } from './helpers/arbitrary.js';

/**
 * Whatever bytes arrive, `ipfence check` returns 0, 1 or 2, never throws or reports an internal
 * error, and every diagnostic has a real position. IPFENCE_FUZZ_RUNS scales the 10,000 cases.
 */
const total = Number(process.env.IPFENCE_FUZZ_RUNS ?? 10_000);

async function checkText(text: string): Promise<void> {
  const { io, out } = memoryIO(text);
  const code = await main(['check', '-', '-f', 'json'], io);
  const { stdout, stderr } = out;
  expect([0, 1, 2]).toContain(code);
  expect(stderr).not.toContain('internal error');
  const ds = JSON.parse(stdout) as { line: number; col: number; file: string; message: string }[];
  for (const d of ds) {
    expect(d.line).toBeGreaterThanOrEqual(1);
    expect(d.col).toBeGreaterThanOrEqual(1);
    expect(d.message.length).toBeGreaterThan(0);
  }
  if (code === 0) expect(ds.every((d) => (d as unknown as { severity: string }).severity !== 'error')).toBe(true);
}

const token = fc.constantFrom('{', '}', '[', ']', ':', ': ', '- ', ' ', '  ', '\n', '\t', ',', '&a ', '*a', '!!str ', '!!int ', "'", '"', '#', '|', '>', '? ', '---', '...', '%YAML 1.2\n',
  'version', 'version: 1\n', 'inbound', 'outbound', 'users', 'port', 'from', 'to', 'name', '22', '-1', '1e400', '0x1F', '65536', 'null', '~', 'true', 'é', '𝄞', '\u0000', '\u202e', '192.0.2.1', '::1',
  // YAML 1.1 forms and what else splits YAML readers: a directive, octal, booleans, sexagesimal, merge keys, tags, complex keys, line ends.
  '%YAML 1.1\n', '022', 'yes', '1:20', '<<: ', '0b10110', '!!float ', '? [a]\n', '\r', '\r\n', '"true": 1\n', '\u001b[2K');
const yamlText = fc.array(token, { maxLength: 40 }).map((ts) => ts.join(''));

// Values that do something else than they say: IPv4 in IPv6 text, the kernel's own routing tables,
// comments longer than the kernel keeps, terminal control sequences, redirect targets elsewhere.
const hostile = fc.constantFrom('::ffff:10.0.0.1', '::10.0.0.1', '::ffff:a00:1/128', 253, 254, 255, 2 ** 31, '한'.repeat(84), '\u001b[2K\rok', '\u0007', { 'local-address': '203.0.113.9' }, { to: '203.0.113.9' });
const wrong = fc.oneof(fc.anything({ maxDepth: 3 }), hostile, fc.constantFrom(1e308, -0, Number.MAX_SAFE_INTEGER, 2 ** 64, '', '﻿', 'x'.repeat(5000), [], {}, null));
/** A valid policy with one value somewhere replaced by something of the wrong shape. */
const mutated = fc.tuple(policyArb, wrong, fc.nat(), fc.nat()).map(([p, junk, a, b]) => {
  const copy = JSON.parse(JSON.stringify(p)) as Record<string, unknown>;
  const keys = Object.keys(copy);
  const k = keys[a % keys.length]!;
  const v = copy[k];
  if (Array.isArray(v) && v.length > 0) {
    const item = v[b % v.length];
    if (item && typeof item === 'object') {
      const ik = Object.keys(item);
      if (ik.length > 0) (item as Record<string, unknown>)[ik[b % ik.length]!] = junk;
    } else v[b % v.length] = junk;
  } else copy[k] = junk;
  return stringify(copy, { aliasDuplicateObjects: false });
});

const deep = fc.oneof(
  fc.integer({ min: 1, max: 10_000 }).map((n) => `version: 1\ninbound: ${'['.repeat(n)}${']'.repeat(n)}\n`),
  fc.integer({ min: 1, max: 2_000 }).map((n) => `version: 1\ninbound: ${'{a: '.repeat(n)}1${'}'.repeat(n)}\n`),
  fc.integer({ min: 1, max: 300 }).map((n) => `version: 1\nx:\n${Array.from({ length: n }, (_, i) => `${' '.repeat(i + 1)}k${i}:`).join('\n')} 1\n`),
  fc.integer({ min: 1, max: 2_000 }).map((n) => `version: 1\ninbound: ${'- '.repeat(n)}x\n`),
);
const aliases = fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 })).map(([depth, width]) => {
  // A "billion laughs" ladder: each level repeats the previous one `width` times.
  const lines = ['version: 1', 'addresses:', '  l0: &l0 [192.0.2.1]'];
  for (let i = 1; i <= depth; i++) lines.push(`  l${i}: &l${i} [${Array.from({ length: width }, () => `*l${i - 1}`).join(', ')}]`);
  lines.push('inbound:', `  - { port: 22, from: l${depth} }`);
  return `${lines.join('\n')}\n`;
});
const duplicates = fc.tuple(fc.constantFrom('version', 'port', 'name', 'from', '"port"', "'name'"), fc.nat(3)).map(([key, n]) => `version: 1\ninbound:\n  - name: x\n    port: 22\n${`    ${key}: 23\n`.repeat(n + 1)}`);

describe(`fuzzing check with ${total} inputs`, () => {
  it('random YAML-ish text', async () => {
    await fc.assert(fc.asyncProperty(yamlText, checkText), { numRuns: Math.round(total * 0.4) });
  }, 300_000);
  it('valid policies with a value of the wrong type, size or encoding', async () => {
    await fc.assert(fc.asyncProperty(mutated, checkText), { numRuns: Math.round(total * 0.4) });
  }, 300_000);
  it('deep nesting, alias ladders and duplicate keys', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(deep, aliases, duplicates), checkText), { numRuns: Math.round(total * 0.2) });
  }, 300_000);
});
