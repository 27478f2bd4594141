import { LineCounter, parseDocument } from 'yaml';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { SourceMap } from './source.js';

export interface Loaded {
  readonly value: unknown;
  readonly source: SourceMap;
  readonly text: string;
}

export interface LoadResult {
  readonly loaded?: Loaded;
  readonly diagnostics: readonly Diagnostic[];
}

/** Parses policy text. Pure: the CLI reads the file; this only sees its text and display name. */
export function load(text: string, file: string): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true });
  const source = new SourceMap(file, doc, lines);
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
