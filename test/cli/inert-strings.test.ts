import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { markdownCell } from '../../src/cli/output.js';
import { memoryIO } from '../helpers/io.js';

/**
 * Any string a user controls (a file name given by --stdin-filename, a rule's name) reaches every
 * diagnostics format as inert data: it adds no line, moves no cursor, and a machine format still
 * parses to the same diagnostics. Each case below is a way a name could fake or hide a finding.
 */
const ACTIVE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const hostile = fc.string({
  unit: fc.oneof(
    fc.constantFrom('"', "'", '`', '$(id)', '\\', ';', '#', '%', ',', ':', '|', '<', '>', '\n', '\r', '\t', '\u0000', '\u001b[2J', '\u0085', '\u2028', '\u202e', '::error ', '-rf', '한'),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
  ),
  minLength: 1,
  maxLength: 40,
});

// A deny that an earlier deny already decides: `shadowed` names both rules, at two lines.
const policy = (name: string) =>
  `version: 1\ninbound:\n  - { name: first, port: 23, action: deny }\n  - { name: ${JSON.stringify(name)}, port: 23, action: deny }\n`;

async function run(format: string, file: string, name: string) {
  const c = memoryIO(policy(name));
  const status = await main(['check', '-', '-f', format, `--stdin-filename=${file}`], c.io);
  return { status, out: c.out.stdout + c.out.stderr };
}

describe('user strings in diagnostics', () => {
  it('never add a line or an active character to any format, and machine formats parse back', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, hostile, async (file, name) => {
        const gcc = await run('gcc', file, name);
        // A name may be refused (control characters in names are); either way one finding, one line each.
        expect(gcc.status).not.toBe(2);
        expect(ACTIVE.test(gcc.out), JSON.stringify(gcc.out)).toBe(false);
        const diagnostics = gcc.out.split('\n').filter((l) => / (error|warning): /.test(l)).length;
        expect(diagnostics).toBeGreaterThan(0);

        const stylish = await run('stylish', file, name);
        expect(ACTIVE.test(stylish.out), JSON.stringify(stylish.out)).toBe(false);

        const github = await run('github', file, name);
        const lines = github.out.split('\n').filter((l) => l !== '');
        // Every line is one annotation: a name cannot start a second one or end the first.
        for (const l of lines) expect(l, JSON.stringify(github.out)).toMatch(/^::(error|warning|notice) file=[^,:]*,line=\d+,col=\d+,title=[^,:]*::/);
        expect(lines.length).toBe(diagnostics);

        const json = await run('json', file, name);
        const parsed = JSON.parse(json.out) as { file: string; message: string }[] | { results?: unknown };
        const list = Array.isArray(parsed) ? parsed : [];
        expect(list.length).toBe(diagnostics);
        for (const d of list) expect(ACTIVE.test(d.file + d.message)).toBe(false);

        const sarif = await run('sarif', file, name);
        const log = JSON.parse(sarif.out) as { runs: { results: unknown[] }[] };
        expect(log.runs[0]!.results.length).toBe(diagnostics);
      }),
      { numRuns: 150 },
    );
  });
  it('stay inside one markdown table cell (diff and show --format markdown)', () => {
    fc.assert(
      fc.property(hostile, (name) => {
        const cell = markdownCell(name);
        expect(ACTIVE.test(cell) || cell.includes('\n')).toBe(false);
        // Every pipe is escaped, so the row keeps its columns; no tag can open.
        expect(/(^|[^\\])(\\\\)*\|/.test(cell), cell).toBe(false);
        expect(/[<>]/.test(cell)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});
