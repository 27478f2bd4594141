import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Every file of src/ with the files it imports at run time (type-only imports vanish when built), or with `types` every file it names. */
function imports(types = false): Map<string, string[]> {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  walk('src');
  return new Map(
    files.map((f) => [
      f,
      [...readFileSync(f, 'utf8').matchAll(types ? /^(import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm : /^(import|export)(?! type)\s[^'"]*?from\s+'(\.[^']+)'/gm)].map((m) => normalize(join(dirname(f), m[2]!.replace(/\.js$/, '.ts')))),
    ]),
  );
}

describe('src/', () => {
  it('has no import cycle (a cycle makes the order modules load in matter, and the layers unreadable)', () => {
    const graph = imports();
    expect(graph.size).toBeGreaterThan(100);
    const cycles: string[] = [];
    const done = new Set<string>();
    const path: string[] = [];
    const visit = (f: string): void => {
      if (path.includes(f)) {
        cycles.push([...path.slice(path.indexOf(f)), f].join(' -> '));
        return;
      }
      if (done.has(f)) return;
      path.push(f);
      for (const d of graph.get(f) ?? []) visit(d);
      path.pop();
      done.add(f);
    };
    for (const f of graph.keys()) visit(f);
    expect(cycles).toEqual([]);
  });
});

/**
 * The layers, lowest first: a file imports (types included) only from its own layer or lower
 * ones. docs/architecture.md draws the same picture.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['util'],
  ['diagnostics'],
  ['model'],
  ['values'],
  ['packet'],
  ['analysis'],
  ['load'],
  ['validate'],
  ['normalize'],
  ['check'],
  ['emit'],
  ['pipeline.ts'],
  ['verify'],
  ['cli'],
  ['docs'],
];

describe('the layers of src/', () => {
  it('import only downwards', () => {
    const rank = (f: string): number => {
      const top = f.split(/[\\/]/)[1]!;
      const i = LAYERS.findIndex((l) => l.includes(top));
      if (i < 0) throw new Error(`${f}: src/${top} is in no layer; add it to LAYERS and to docs/architecture.md`);
      return i;
    };
    const upwards: string[] = [];
    const files = [...imports(true).entries()];
    expect(files.length).toBeGreaterThan(100);
    for (const [f, deps] of files) for (const d of deps) if (rank(d) > rank(f)) upwards.push(`${f} -> ${d}`);
    expect(upwards).toEqual([]);
  });
});

/** A family's name compared, switched on or looked for, in any quotes. */
const Q = `['"\`]`;
const FAMILY_BRANCH = new RegExp(`[!=]==?\\s*${Q}ipv[46]${Q}|${Q}ipv[46]${Q}\\s*[!=]==?|includes\\(${Q}ipv[46]${Q}\\)|case ${Q}ipv[46]${Q}|${Q}ipv[46]${Q}\\s*\\?`);

describe('the family record', () => {
  it('is the only place that tells IPv4 from IPv6: no code outside it compares or looks for a family by name', () => {
    const branches: string[] = [];
    for (const f of imports().keys()) {
      // The schema's validator, generated, compares the schema's own enum values.
      if (f.endsWith(join('model', 'family.ts')) || f.endsWith('.generated.ts')) continue;
      readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
        if (FAMILY_BRANCH.test(line)) branches.push(`${f}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(branches).toEqual([]);
  });
});
