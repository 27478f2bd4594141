import type { Document, LineCounter } from 'yaml';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { lazy } from '../util/lazy.js';
import { fastYaml } from './fast-yaml.js';
import { MAX_NESTING, tooDeep } from './nesting.js';
import { fastYamlPositions, SourceMap, yamlPositions } from './source-map.js';
import { yamlErrors } from './yaml-errors.js';

export interface Loaded {
  readonly value: unknown;
  readonly source: SourceMap;
  readonly text: string;
}

export interface LoadResult {
  readonly loaded?: Loaded;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * How every policy is read, whatever its size: YAML 1.2 with the core schema (`022` is 22, `yes`
 * is a string, `<<` an ordinary key), whatever a `%YAML` directive says.
 */
export function parseYaml(text: string): { doc: Document.Parsed; lines: LineCounter } {
  const { LineCounter, parseDocument } = lazy.yaml();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true, version: '1.2', schema: 'core' });
  return { doc, lines };
}

/** A `%YAML` directive: the policy asks for another YAML than the one ipfence reads. */
const DIRECTIVE = /^%YAML[ \t]+(\S*)/m;

/**
 * Parses policy text. Pure: the CLI reads the file; this only sees its text and display name.
 * The plain subset most policies are written in is read by fastYaml (src/load/fast-yaml.ts), which
 * reads exactly what parseYaml reads (test/unit/fast-yaml.test.ts holds it to that, value for
 * value and position for position); everything else by parseYaml.
 */
export function load(text: string, file: string, options: { fastPath?: boolean } = {}): LoadResult {
  const deep = tooDeep(text);
  if (deep !== undefined) {
    // Located without parsing: parsing is what such a text would break.
    const at = new SourceMap(file, () => yamlPositions(undefined, lineCounterOf(text))).atOffset(deep);
    return { diagnostics: [diag('yaml-syntax', at, `the policy nests deeper than ${MAX_NESTING} levels here; a policy needs about six`)] };
  }
  if (options.fastPath !== false) {
    const plain = fastYaml(text);
    if (plain) return { loaded: { value: plain.value, text, source: new SourceMap(file, () => fastYamlPositions(text) ?? yamlPositionsOf(text)) }, diagnostics: [] };
  }
  const { doc, lines } = parseYaml(text);
  const source = new SourceMap(file, () => yamlPositions(doc, lines));
  const diagnostics: Diagnostic[] = [];
  const directive = DIRECTIVE.exec(text);
  if (directive && directive[1] !== '1.2') {
    diagnostics.push(diag('yaml-syntax', source.atOffset(directive.index), `this policy asks for YAML ${directive[1] || '(no version)'}, and ipfence reads YAML 1.2 only, so that a policy means the same everywhere (in YAML 1.1, 022 is 18 and yes is true); remove the %YAML line or write %YAML 1.2`));
  }
  diagnostics.push(...yamlErrors(doc, [...doc.errors, ...doc.warnings].filter((e) => !(e.code === 'BAD_DIRECTIVE' && directive)), text, source));
  if (diagnostics.length === 0) diagnostics.push(...keyProblems(doc, source));
  if (diagnostics.length > 0) return { diagnostics };
  let value: unknown;
  try {
    // maxAliasCount stops "billion laughs" alias bombs from exhausting memory.
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    return { diagnostics: [diag('yaml-syntax', source.at([]), (e as Error).message)] };
  }
  return { loaded: { value, source, text }, diagnostics };
}

function lineCounterOf(text: string): LineCounter {
  const lines = new (lazy.yaml().LineCounter)();
  lines.addNewLine(0);
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1);
  return lines;
}

function yamlPositionsOf(text: string) {
  const { doc, lines } = parseYaml(text);
  return yamlPositions(doc, lines);
}

/**
 * Keys a policy cannot mean one thing by: a list or mapping as a key (which YAML allows and a
 * policy has no use for), and keys that YAML reads as different but that are the same name
 * (`true:` a boolean, `"true":` a string): one would silently replace the other.
 */
function keyProblems(doc: Document.Parsed, source: SourceMap): Diagnostic[] {
  const { isMap, isPair, isScalar, isSeq, visit } = lazy.yaml();
  const out: Diagnostic[] = [];
  const offset = (n: unknown): number => ((n as { range?: [number, number, number] } | null)?.range?.[0] ?? 0);
  visit(doc, {
    Map(_, map) {
      const seen = new Map<string, { node: unknown; text: string }>();
      for (const pair of map.items) {
        if (!isPair(pair)) continue;
        const key = pair.key;
        if (key !== null && !isScalar(key)) {
          out.push(diag('yaml-syntax', source.atOffset(offset(key)), `a ${isSeq(key) ? 'list' : isMap(key) ? 'mapping' : 'node'} as a key: a policy's keys are names`));
          continue;
        }
        const name = key === null || key.value === null ? '' : String(key.value);
        const written = key === null ? '(an empty key)' : key.type === 'QUOTE_DOUBLE' ? `"${name}"` : key.type === 'QUOTE_SINGLE' ? `'${name}'` : key.source || '(an empty key)';
        const first = seen.get(name);
        if (first) {
          const at = source.atOffset(offset(first.node));
          out.push(diag('yaml-duplicate-key', source.atOffset(offset(key)), `the key ${written} is the same name as ${first.text} at line ${at.line}, column ${at.col} (YAML reads them as different types, the policy as one key); keep one of them`, [{ ...at, message: `the key ${first.text}` }]));
        } else seen.set(name, { node: key, text: written });
      }
    },
  });
  return out;
}
