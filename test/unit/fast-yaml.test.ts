import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import jsyaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { fastYaml } from '../../src/load/fast-yaml.js';
// @ts-expect-error plain JS generator
import { ipfencePolicy } from '../../bench/generate.mjs';

/** What a full library reads, or 'error'. Both are the reference: the fast reader must agree with both or give up. */
function viaJsYaml(text: string): unknown {
  try {
    return { v: jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA }) };
  } catch {
    return 'error';
  }
}
function viaYaml(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, strict: true, prettyErrors: false });
  if (doc.errors.length > 0 || doc.warnings.length > 0) return 'error';
  try {
    return { v: doc.toJS({ maxAliasCount: 1000 }) };
  } catch {
    return 'error';
  }
}

/** The property: the fast reader gives up, or reads exactly what js-yaml and yaml both read. */
function agrees(text: string): boolean {
  const fast = fastYaml(text);
  if (!fast) return true;
  expect(viaJsYaml(text), text).toEqual({ v: fast.value });
  expect(viaYaml(text), text).toEqual({ v: fast.value });
  return true;
}

const policyFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? policyFiles(join(dir, e.name)) : e.name.endsWith('.yaml') ? [join(dir, e.name)] : [],
  );

// Scalars that YAML libraries read in surprising or differing ways, next to ordinary ones.
const TRICKY = [
  'null', 'Null', 'NULL', '~', '', 'true', 'True', 'FALSE', 'yes', 'on', 'no', 'y',
  '0', '1', '01', '007', '1_000', '0x1F', '0o17', '0b11', '+1', '-1', '1.5', '1e3', '1.', '.5', '.inf', '-.inf', '.nan', '123456789012345678',
  '10.0.0.1', '10.0.0.0/8', '10/minute', '2001:db8::1', 'fd00::5', '::1', '2001:db8:a::/64', '12:30', '1:2',
  'a:b', 'a: b', 'a:', ':a', 'a #b', 'a#b', '#a', '- a', '-a', '? a', "it's", "'q'", 'a"b', '"d"', 'a\\b', '[x]', '{y}', 'a,b', 'a, b',
  'x ', ' x', '@x', '`x', '%x', '&a', '*a', '!t', '|', '>', 'a b', 'ssh', 'eth0', 'br-1a2b', 'DOCKER-USER', '__proto__', 'constructor',
];
const ORDINARY = ['ssh', 'allow', 'drop', '22', '8080', '10.0.0.1', '192.0.2.0/24', '2001:db8::1', 'fd00::/8', 'eth0', '10/minute', 'web server', 'r1'];
const NAMES = ['name', 'port', 'from', 'to', 'inbound', 'action'];
const KEYS = ['name', 'port', 'from', 'to', 'a', 'b', 'null', 'true', '1', 'a b', 'a-b', 'x.y', '__proto__', 'constructor', '"q"', "'s'", 'k:', ''];

const keyArb = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...NAMES) }, { weight: 1, arbitrary: fc.constantFrom(...KEYS) });

type Value = string | Value[] | { [k: string]: Value };
const valueArb: fc.Arbitrary<Value> = fc.letrec<{ v: Value }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...ORDINARY) }, { weight: 1, arbitrary: fc.constantFrom(...TRICKY) }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(keyArb, tie('v'), { maxKeys: 4 }),
  ),
})).v;

const styleArb = fc.record({ flow: fc.boolean(), quote: fc.constantFrom('plain', 'single', 'double'), indent: fc.constantFrom(1, 2, 4), comment: fc.boolean() });

function scalar(s: string, quote: string): string {
  if (quote === 'single') return `'${s.replace(/'/g, "''")}'`;
  if (quote === 'double') return `"${s}"`;
  return s;
}

/** Renders a value in a random mix of styles; the result may well be invalid or mean something else: that is the point. */
function render(v: Value, styles: readonly fc.RecordValue<{ flow: boolean; quote: string; indent: number; comment: boolean }>[], depth = 0, pad = ''): string {
  const st = styles[depth % styles.length]!;
  const c = st.comment ? ' # note' : '';
  if (typeof v === 'string') return scalar(v, st.quote);
  if (st.flow || depth > 3) {
    if (Array.isArray(v)) return `[${v.map((x) => render(x, styles, depth + 1)).join(', ')}]`;
    return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${render(x, styles, depth + 1)}`).join(', ')} }`;
  }
  const inner = pad + ' '.repeat(st.indent);
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return `${c}\n${v.map((x) => `${pad}- ${render(x, styles, depth + 1, inner).replace(/^\n\s*/, '')}`).join('\n')}`;
  }
  const entries = Object.entries(v);
  if (entries.length === 0) return '{}';
  return `${c}\n${entries.map(([k, x]) => `${pad}${k}: ${render(x, styles, depth + 1, inner)}`).join('\n')}`;
}

const docArb = fc.tuple(fc.dictionary(keyArb, valueArb, { minKeys: 1, maxKeys: 4 }), fc.array(styleArb, { minLength: 1, maxLength: 4 })).map(([v, styles]) => render(v, styles).replace(/^[^\n]*\n/, '').concat('\n'));

const EDITS = [':', ' ', '\n', '-', '#', "'", '"', '[', ']', '{', '}', ',', '&', '*', '!', '|', '\t', '\\', 'a', '1', '.', '/', '---\n', '...\n'];

describe('fastYaml', () => {
  it('reads every example and fixture policy as both YAML libraries do', () => {
    const files = [...policyFiles('examples'), ...policyFiles('test/fixtures')];
    let read = 0;
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      agrees(text);
      if (fastYaml(text)) read++;
    }
    // The subset is meant to cover how policies are written: most of ours must take it.
    expect(read).toBeGreaterThan(files.length * 0.8);
  });

  it('reads the benchmark policies (the case it exists for)', () => {
    const text = ipfencePolicy(2000) as string;
    expect(fastYaml(text)).toBeDefined();
    agrees(text);
  });

  it('on random documents in mixed styles, gives up or agrees with js-yaml and yaml', () => {
    let read = 0;
    fc.assert(
      fc.property(docArb, (text) => {
        if (fastYaml(text)) read++;
        return agrees(text);
      }),
      { numRuns: 3000 },
    );
    // Not a vacuous property: a good share of the random documents is read by the fast path.
    expect(read).toBeGreaterThan(400);
  });

  it('on random edits of valid documents, gives up or agrees', () => {
    const edited = fc.tuple(docArb, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...EDITS), fc.boolean()), { minLength: 1, maxLength: 3 })).map(([text, edits]) => {
      let t = text;
      for (const [at, s, del] of edits) {
        const i = at % (t.length + 1);
        t = del ? t.slice(0, i) + t.slice(i + 1) : t.slice(0, i) + s + t.slice(i);
      }
      return t;
    });
    fc.assert(fc.property(edited, agrees), { numRuns: 3000 });
  });

  it('gives up on what it leaves to the full parsers', () => {
    for (const text of [
      'a: &x 1\nb: *x\n', 'a: !!str 1\n', 'a: |\n  x\n', 'a: >\n  x\n', 'a: "x\\ny"\n', 'a: [1,\n  2]\n', 'a: x\n  y\n',
      'a: 1\na: 2\n', 'a:\t1\n', 'a: 1_000\n', 'a: 0x1F\n', 'a: ~\n', 'a: .inf\n', '--- 1\n', 'a: 1\n---\nb: 2\n', 'é: 1\n', 'a: [b, ]\n', '? a\n: b\n',
    ]) {
      expect(fastYaml(text), text).toBeUndefined();
    }
  });
});
