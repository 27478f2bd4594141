import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../src/pipeline.js';
import { gcc } from '../src/cli/formatters/gcc.js';

/**
 * Golden files, Aerleon-style: on a mismatch the output is written beside the expectation as
 * `<file>.actual`, so a reviewer diffs two files. UPDATE_GOLDEN=1 rewrites the expectations.
 */
const update = process.env.UPDATE_GOLDEN === '1';
const FIXTURES = 'test/fixtures';

function expectFile(path: string, actual: string): void {
  const actualPath = `${path}.actual`;
  if (update) writeFileSync(path, actual);
  const expected = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  if (expected === actual) {
    rmSync(actualPath, { force: true });
    return;
  }
  writeFileSync(actualPath, actual);
  expect(actual, `${path} differs; see ${actualPath}`).toBe(expected);
}

/**
 * apply.sh is this policy's data, then a body of functions that is the same for every policy: the
 * goldens hold the data part (apply.sh.data), and every policy's body must be the same text.
 */
const BODY_MARK = "\n# ---- apply.sh's body";
const bodies = new Set<string>();

function splitApply(produced: Map<string, string>): void {
  const apply = produced.get('apply.sh');
  if (apply === undefined) return;
  const at = apply.indexOf(BODY_MARK);
  expect(at, 'apply.sh has its helpers marker').toBeGreaterThan(0);
  produced.delete('apply.sh');
  produced.set('apply.sh.data', apply.slice(0, at + 1));
  bodies.add(apply.slice(at + 1));
  expect(bodies.size, 'apply.sh after its data is the same text for every policy').toBe(1);
}

function expectOutputs(dir: string, text: string, file: string): void {
  const r = compile(text, file, basename(file));
  expect(gcc(r.diagnostics.filter((d) => d.severity === 'error'))).toBe('');
  // What is written: the chunks where there are any (restore files), else the content.
  const produced = new Map((r.artifacts ?? []).map((a) => [a.file, a.chunks?.join('') ?? a.content]));
  for (const a of r.artifacts ?? []) if (a.chunks) expect(a.chunks.join(''), a.file).toBe(a.content);
  splitApply(produced);
  for (const name of ['rules.v4', 'rules.v6', 'apply.sh.data', 'ipsets', 'ipfence.service', 'ipfence-docker.service', 'apply.sh', 'routing.sh']) {
    const path = join(dir, name);
    if (produced.has(name)) expectFile(path, produced.get(name)!);
    else expect(existsSync(path), `${path} exists but was not produced`).toBe(false);
  }
  const warnings = gcc(r.diagnostics);
  if (warnings || existsSync(join(dir, 'diagnostics.txt'))) expectFile(join(dir, 'diagnostics.txt'), warnings);
}

const dirs = (p: string): string[] => readdirSync(p, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

describe('examples compile to their golden files', () => {
  const examples = readdirSync('examples').filter((f) => f.endsWith('.yaml')).sort();
  it('every example has a golden folder', () => {
    expect(dirs(join(FIXTURES, 'examples'))).toEqual(examples.map((f) => f.replace(/\.yaml$/, '')));
  });
  for (const f of examples) {
    it(f, () => expectOutputs(join(FIXTURES, 'examples', f.replace(/\.yaml$/, '')), readFileSync(join('examples', f), 'utf8'), `examples/${f}`));
  }
});

describe('fixtures compile to their golden files', () => {
  for (const c of dirs(FIXTURES).filter((d) => d !== 'examples' && d !== '_errors_')) {
    it(c, () => expectOutputs(join(FIXTURES, c), readFileSync(join(FIXTURES, c, 'policy.yaml'), 'utf8'), 'policy.yaml'));
  }
});

describe('failing fixtures report the expected diagnostics and produce nothing', () => {
  for (const c of dirs(join(FIXTURES, '_errors_'))) {
    it(c, () => {
      const dir = join(FIXTURES, '_errors_', c);
      const r = compile(readFileSync(join(dir, 'policy.yaml'), 'utf8'), 'policy.yaml');
      expect(r.artifacts).toBeUndefined();
      expect(r.diagnostics.some((d) => d.severity === 'error')).toBe(true);
      expectFile(join(dir, 'diagnostics.txt'), gcc(r.diagnostics));
    });
  }
});
