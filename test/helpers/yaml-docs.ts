import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { expect } from 'vitest';
import { fastYaml } from '../../src/load/fast-yaml.js';

// Random YAML documents in a mix of styles, for the differential tests of fastYaml.

export const policyFiles = (dir: string): string[] =>
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
  // Forms YAML 1.1 and 1.2 read differently, or that only a full parser reads.
  '022', '0b10110', '1:20', '190:20:30', '!!float 22', '!!int 7', '<<', 'Yes', 'OFF', '0o22', '+.5', '12e3',
  'é', 'a #é', 'a#é', 'x # Zoë — ok',
];
const ORDINARY = ['ssh', 'allow', 'drop', '22', '8080', '10.0.0.1', '192.0.2.0/24', '2001:db8::1', 'fd00::/8', 'eth0', '10/minute', 'web server', 'r1'];
const NAMES = ['name', 'port', 'from', 'to', 'inbound', 'action'];
const KEYS = ['name', 'port', 'from', 'to', 'a', 'b', 'null', 'true', '"true"', '~', '1', '"1"', 'a b', 'a-b', 'x.y', '__proto__', 'constructor', '"q"', "'s'", 'k:', '', '<<', '? [a]', '[k]', '{k: v}'];

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

// Comments with text YAML libraries must skip, including non-ASCII and characters some treat as line breaks.
const COMMENTS = [' # Müller — café', ' #ü', ' # 😀 ok', ' # a\u0085b', ' # a\u2028b', ' # \ufeff', " # it's \"é\"", ' # a\tü'];
const styleArb = fc.record({ flow: fc.boolean(), quote: fc.constantFrom('plain', 'single', 'double'), indent: fc.constantFrom(1, 2, 4), comment: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('', ' # note') }, { weight: 2, arbitrary: fc.constantFrom(...COMMENTS) }) });

function scalar(s: string, quote: string): string {
  if (quote === 'single') return `'${s.replace(/'/g, "''")}'`;
  if (quote === 'double') return `"${s}"`;
  return s;
}

/** Renders a value in a random mix of styles; the result may well be invalid or mean something else: that is the point. */
function render(v: Value, styles: readonly { flow: boolean; quote: string; indent: number; comment: string }[], depth = 0, pad = ''): string {
  const st = styles[depth % styles.length]!;
  const c = st.comment;
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

const plainDocArb = fc.tuple(fc.dictionary(keyArb, valueArb, { minKeys: 1, maxKeys: 4 }), fc.array(styleArb, { minLength: 1, maxLength: 4 })).map(([v, styles]) => render(v, styles).replace(/^[^\n]*\n/, '').concat('\n'));

/** Whole-document variants the readers must not split on: directives, other line ends, a flow continued under-indented. */
const VARIANTS: readonly ((text: string) => string)[] = [
  (t) => `%YAML 1.1\n---\n${t}`,
  (t) => `%YAML 1.2\n---\n${t}`,
  (t) => t.replace(/\n/g, '\r'),
  (t) => t.replace(/\n/g, '\r\n'),
  (t) => t.replace(/, /, ',\n'),
  (t) => `${t}x-flow: [1,\n2]\n`,
];

export const docArb = fc.oneof(
  { weight: 6, arbitrary: plainDocArb },
  { weight: 1, arbitrary: fc.tuple(plainDocArb, fc.constantFrom(...VARIANTS)).map(([t, variant]) => variant(t)) },
);


const EDITS = [':', ' ', '\n', '-', '#', "'", '"', '[', ']', '{', '}', ',', '&', '*', '!', '|', '\t', '\\', 'a', '1', '.', '/', '---\n', '...\n', ' # é', '\n# ü\n', 'é', '\r', '0', '%YAML 1.1\n', '? ', '<<: '];

/** A random document with one to three random characters inserted or deleted: valid or not, often odd. */
export const editedDocArb = fc.tuple(docArb, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...EDITS), fc.boolean()), { minLength: 1, maxLength: 3 })).map(([text, edits]) => {
  let t = text;
  for (const [at, s, del] of edits) {
    const i = at % (t.length + 1);
    t = del ? t.slice(0, i) + t.slice(i + 1) : t.slice(0, i) + s + t.slice(i);
  }
  return t;
});

/**
 * Holds `property` on random documents, and fails unless more than `minRead` of them were in
 * fastYaml's subset: a property about what fastYaml reads must not pass by reading nothing.
 */
export function assertOnRandomDocs(property: (text: string) => boolean, numRuns: number, minRead: number): void {
  let read = 0;
  fc.assert(
    fc.property(docArb, (text) => {
      if (fastYaml(text)) read++;
      return property(text);
    }),
    { numRuns },
  );
  expect(read).toBeGreaterThan(minRead);
}
