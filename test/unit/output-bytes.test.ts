import { describe, expect, it, vi } from 'vitest';
import { outputSize, outputSizeLimit } from '../../src/emit/iptables/output-size.js';
import { OUTPUT_BYTES_LIMIT } from '../../src/normalize/budget.js';
import { compile } from '../../src/pipeline.js';

/*
 * The bytes of the loaded files are bounded like rules and set entries: the rule and entry limits
 * bound how many lines there are, not how long they are. Compiling past the real limit (256 MiB)
 * takes a minute and gigabytes, so the pipeline's wiring is tested with the limit mocked down to
 * 2 MiB, and outputSizeLimit with a limit given.
 */
vi.mock('../../src/normalize/budget.js', async (original) => ({ ...(await original<typeof import('../../src/normalize/budget.js')>()), OUTPUT_BYTES_LIMIT: 2 * 1024 * 1024 }));

/** `n` IPv4 host addresses, none adjacent to another (so merging keeps every one). */
const hosts = (n: number, first = 0): string[] => Array.from({ length: n }, (_, k) => k + first).map((i) => `10.${(i >> 15) & 255}.${(i >> 7) & 255}.${(i & 127) * 2}`);
const long = 'n'.repeat(240);

/** Rule `small` (few short lines), `wide` (a 240-byte name on each of 80 x 80 expanded rules, no sets) and `listed` (a 4,000-entry set). */
const policy = (wide: number) =>
  [
    'version: 1',
    'defaults: { set-threshold: 100 }',
    'inbound:',
    '  - { name: small, port: 22 }',
    `  - { name: ${long}, port: 443, from: [${hosts(wide).join(', ')}], to: [${hosts(wide, 5000).join(', ')}] }`,
    `  - { name: listed, port: 25, from: [${hosts(4000, 20000).join(', ')}] }`,
    '',
  ].join('\n');

describe('the output-bytes limit', () => {
  it('is mocked for this file (the real one is 256 MiB)', () => {
    expect(OUTPUT_BYTES_LIMIT).toBe(2 * 1024 * 1024);
  });

  it('measures what the files hold: the rule lines and set entries, within their headers', () => {
    const r = compile(policy(20), 'p.yaml', 'p.yaml');
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const size = outputSize(r.ir!);
    for (const a of r.artifacts!.filter((x) => ['rules.v4', 'rules.v6', 'ipsets'].includes(x.file))) {
      const bytes = Buffer.byteLength(a.content, 'utf8');
      const measured = size.files.get(a.file)!;
      expect(measured, a.file).toBeLessThanOrEqual(bytes);
      // The headers, table and chain lines and COMMITs are what is not counted.
      expect(bytes - measured, a.file).toBeLessThan(2500);
    }
  });

  it('a policy past the limit is refused with expansion-limit at the rule that writes the most, not the first or the longest list', () => {
    // 80 x 80 = 6,400 rules of about 330 bytes: about 2.1 MB in rules.v4 alone.
    const text = policy(80);
    const r = compile(text, 'p.yaml', 'p.yaml');
    expect(r.artifacts).toBeUndefined();
    const limit = r.diagnostics.filter((d) => d.code === 'expansion-limit');
    expect(limit, JSON.stringify(r.diagnostics.slice(0, 3))).toHaveLength(1);
    expect(limit[0]!.line).toBe(5);
    expect(limit[0]!.message).toMatch(/would hold 2\.\d MiB \(rules\.v4 2\.\d MiB, rules\.v6 0\.0 MiB, ipsets 0\.\d MiB\), past the limit of 2\.0 MiB; this rule writes the most/);
    expect(limit[0]!.message).toContain('shorter name');
    // The same rules with a short name fit.
    const short = compile(text.replace(long, 'wide'), 'p.yaml', 'p.yaml');
    expect(short.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(short.artifacts).toBeDefined();
  });

  it('ipsets count: a set past the limit is reported at the rule whose list it is', () => {
    const r = compile(`version: 1\ninbound:\n  - { name: small, port: 22 }\n  - { name: listed, port: 25, from: [${hosts(60000).join(', ')}] }\n`, 'p.yaml', 'p.yaml');
    const found = outputSizeLimit(r.ir!, 1024 * 1024);
    expect(found).toHaveLength(1);
    expect(found[0]!.line).toBe(4);
    expect(found[0]!.message, found[0]!.message).toMatch(/ipsets 2\.\d MiB/);
    expect(outputSizeLimit(r.ir!, 4 * 1024 * 1024)).toEqual([]);
  });
});
