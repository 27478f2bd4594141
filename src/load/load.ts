import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { lazy } from '../lazy.js';
import { fastYaml } from './fast-yaml.js';
import { fastYamlPositions, SourceMap, yamlPositions, type Positions } from './source.js';

export interface Loaded {
  readonly value: unknown;
  readonly source: SourceMap;
  readonly text: string;
}

export interface LoadResult {
  readonly loaded?: Loaded;
  readonly diagnostics: readonly Diagnostic[];
}

/** Above this size a policy is parsed by the fast path first (yaml builds a position-keeping tree, 13x slower). */
export const FAST_PARSE_BYTES = 64 * 1024;
/** An alias (*name) anywhere: the fast path has no alias limit, so such documents take the guarded path. */
const ALIAS = /(^|[\s[{,:-])\*[^\s\]},]/m;
/**
 * An empty block sequence entry (`-`, `- -` or `- # note` alone on its line). js-yaml reads a less
 * indented entry after one as part of the empty entry's sequence, where yaml (and YAML) ends that
 * sequence: such documents take the yaml path.
 */
const EMPTY_ENTRY = /^[ ]*(?:-[ ]+)*-[ ]*(?:#.*)?$/m;

function parseWithPositions(text: string) {
  const { LineCounter, parseDocument } = lazy.yaml();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true });
  return { doc, lines };
}

const yamlIndex = (text: string) => (): Positions => {
  const { doc, lines } = parseWithPositions(text);
  return yamlPositions(doc, lines);
};

/**
 * A policy in the plain subset (src/load/fast-yaml.ts) is read by fastYaml, which reads exactly
 * what yaml and js-yaml read; a large one outside it without aliases is read with js-yaml's core
 * schema (the same YAML 1.2 core types). Positions are found only if a diagnostic needs one:
 * by a second fastYaml reading when fastYaml read the text, else from yaml's tree. Anything both fast paths refuse (duplicate keys, syntax, several
 * documents) goes through yaml for its positioned errors.
 */
function fastPath(text: string, file: string): LoadResult | undefined {
  // The plain subset most policies are written in, at any size; then js-yaml for large ones.
  const plain = fastYaml(text);
  if (plain) {
    const source = new SourceMap(file, () => fastYamlPositions(text) ?? yamlIndex(text)());
    return { loaded: { value: plain.value, text, source }, diagnostics: [] };
  }
  const source = new SourceMap(file, yamlIndex(text));
  if (text.length < FAST_PARSE_BYTES || ALIAS.test(text) || EMPTY_ENTRY.test(text)) return undefined;
  try {
    const jsyaml = lazy.jsyaml();
    const value: unknown = jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA });
    return { loaded: { value, text, source }, diagnostics: [] };
  } catch {
    return undefined;
  }
}

/** Parses policy text. Pure: the CLI reads the file; this only sees its text and display name. */
export function load(text: string, file: string, options: { fastPath?: boolean } = {}): LoadResult {
  const fast = options.fastPath === false ? undefined : fastPath(text, file);
  if (fast) return fast;
  const { doc, lines } = parseWithPositions(text);
  const source = new SourceMap(file, () => yamlPositions(doc, lines));
  const diagnostics: Diagnostic[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const at = source.atOffset(e.pos[0]);
    const code = e.code === 'DUPLICATE_KEY' ? 'yaml-duplicate-key' : 'yaml-syntax';
    const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    diagnostics.push(diag(code, at, code === 'yaml-duplicate-key' ? `${message}; keep one of them` : message));
  }
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
