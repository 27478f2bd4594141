import type { Document, YAMLError } from 'yaml';
import { diag, formatLocation, type Diagnostic } from '../diagnostics/diagnostic.js';
import { lazy } from '../util/lazy.js';
import type { SourceMap } from './source-map.js';

/**
 * The parser's errors in the words of a policy's author. yaml says "Map keys must be unique" and
 * "Nested mappings are not allowed in compact mappings"; the author needs the key and where it was
 * first written, or the line whose indentation is wrong and the indentations that would be right.
 */
export function yamlErrors(doc: Document.Parsed, errors: readonly YAMLError[], text: string, source: SourceMap): Diagnostic[] {
  const out: Diagnostic[] = [];
  const indentLines = new Set<number>();
  let repeated: ReturnType<typeof repeatedKeys> | undefined;
  for (const e of errors) {
    if (e.code === 'DUPLICATE_KEY') {
      repeated ??= repeatedKeys(doc);
      out.push(duplicateKey(repeated.get(e.pos[0]), e, source));
      continue;
    }
    const line = misindentedLine(e, text);
    if (line !== undefined) {
      // yaml reports one misplaced line as two errors (BLOCK_AS_IMPLICIT_KEY, MULTILINE_IMPLICIT_KEY).
      if (indentLines.has(line)) continue;
      indentLines.add(line);
      const at = source.atOffset(line + indentOf(text, line));
      out.push(diag('yaml-syntax', at, indentMessage(text, line, at.line)));
      continue;
    }
    const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    out.push(diag('yaml-syntax', source.atOffset(e.pos[0]), e.code === 'TAB_AS_INDENT' ? `${message}; indent with spaces` : message));
  }
  return out;
}

/** Every repeated key of the document, by its offset: its name and the offset of its first. */
function repeatedKeys(doc: Document.Parsed): Map<number, { readonly name: string; readonly first: number }> {
  const { isPair, isScalar, visit } = lazy.yaml();
  const out = new Map<number, { name: string; first: number }>();
  visit(doc, {
    Map(_, map) {
      const seen = new Map<string, number>();
      for (const p of map.items) {
        if (!isPair(p) || !isScalar(p.key) || p.key.range === undefined || p.key.range === null) continue;
        const name = String(p.key.value);
        const first = seen.get(name);
        if (first === undefined) seen.set(name, p.key.range[0]);
        else out.set(p.key.range[0], { name, first });
      }
    },
  });
  return out;
}

/** "duplicate key 'inbound' (first at policy.yaml:2:1)", with the first one as related. */
function duplicateKey(repeated: { readonly name: string; readonly first: number } | undefined, e: YAMLError, source: SourceMap): Diagnostic {
  const at = source.atOffset(e.pos[0]);
  if (!repeated) return diag('yaml-duplicate-key', at, 'a mapping repeats a key here; YAML would keep only one of them: keep one');
  const first = source.atOffset(repeated.first);
  return diag('yaml-duplicate-key', at, `duplicate key '${repeated.name}' (first at ${formatLocation(first)}): YAML would keep only one of the two; merge them into one, or remove one`, [{ ...first, message: `'${repeated.name}' first` }]);
}

/** Offset of the start of the line holding `offset`. */
const lineStart = (text: string, offset: number): number => text.lastIndexOf('\n', offset - 1) + 1;
const indentOf = (text: string, start: number): number => /^ */.exec(text.slice(start, start + 256))![0].length;

/**
 * The line an indentation error is about, as the offset of its start; undefined for other errors.
 * yaml reports a line indented less than its mapping at the line's leading spaces (BAD_INDENT,
 * MISSING_CHAR "Sequence item without - indicator"), and one indented more than its mapping's keys
 * as a value running on into the next line's key (MULTILINE_IMPLICIT_KEY, whose range ends at it).
 */
function misindentedLine(e: YAMLError, text: string): number | undefined {
  if (e.code === 'MULTILINE_IMPLICIT_KEY' || e.code === 'BLOCK_AS_IMPLICIT_KEY') {
    // BLOCK_AS_IMPLICIT_KEY's range is the value only; its twin's range runs to the key below.
    const end = e.code === 'MULTILINE_IMPLICIT_KEY' ? e.pos[1] : implicitKeyEnd(text, e.pos[0]);
    const start = end === undefined ? undefined : lineStart(text, end);
    return start !== undefined && start > lineStart(text, e.pos[0]) ? start : undefined;
  }
  if (e.code === 'BAD_INDENT' || (e.code === 'MISSING_CHAR' && /without - indicator/.test(e.message))) {
    let start = lineStart(text, e.pos[0]);
    if (e.pos[0] > start + indentOf(text, start)) return undefined;
    // yaml may point at a blank or comment line before the one that is out of place.
    for (let n = 0; n < 1000 && /^ *(#[^\n]*)?(\n|$)/.test(text.slice(start, start + 4096)); n++) {
      const next = text.indexOf('\n', start);
      if (next < 0) return undefined;
      start = next + 1;
    }
    return start;
  }
  return undefined;
}

/** Where the next line's `key:` ends after the value at `offset`, as MULTILINE_IMPLICIT_KEY would give it. */
function implicitKeyEnd(text: string, offset: number): number | undefined {
  const next = text.indexOf('\n', offset);
  if (next < 0) return undefined;
  const m = /^ *[^\s:#][^:\n]*(?=:)/.exec(text.slice(next + 1, next + 1 + 4096));
  return m ? next + 1 + m[0].length : undefined;
}

/** A key as a hint names it: enough to find it. */
const short = (key: string): string => (key.length > 40 ? `${key.slice(0, 40)}...` : key);

/** A column a line could start at: a key of a mapping above, or a new item of a list above. */
interface Column {
  readonly col: number;
  readonly what: string;
}

/**
 * "line 4 is indented 3 spaces; ...: 4 spaces for a key beside 'port' (line 3), 2 for a new item
 * of the list on line 3, 0 for a key beside 'inbound' (line 2)". The columns are those of the
 * open collections above the line, nearest first, read from the text itself (the parser's tree
 * is what went wrong). Flow collections and block scalars above are not told apart: a hint.
 */
function indentMessage(text: string, start: number, at: number): string {
  const has = indentOf(text, start);
  const columns: Column[] = [];
  let itemAt: number | undefined;
  let limit = Infinity;
  let end = start - 1;
  // Each turn reads the line above the last; 200 lines up is far enough for a hint, and bounds
  // the work of a file with an error on every other line.
  for (let number = at - 1; end > 0 && limit > 0 && number >= at - 200; number--) {
    const from = lineStart(text, end);
    const line = text.slice(from, end);
    end = from - 1;
    const content = line.trimStart();
    if (content === '' || content.startsWith('#')) continue;
    const indent = line.length - content.length;
    const item = /^(-[ ]+)+/.exec(content);
    const inner = item ? indent + item[0].length : indent;
    const key = /^([^\s:#'"{[][^:]*?|"[^"]*"|'[^']*'):(\s|$)/.exec(content.slice(inner - indent));
    const found: Column[] = [];
    if (key) found.push({ col: inner, what: `a key beside '${short(key[1]!.replace(/^["']|["']$/g, ''))}' (line ${number})` });
    if (item) found.push({ col: indent, what: `a new item of the list on line ${number}` });
    for (const c of found) {
      if (c.col < limit) {
        if (c.col !== has) columns.push(c);
        else if (item && c.col === indent) itemAt = number;
        limit = c.col;
      }
    }
  }
  const spaces = (n: number): string => `${n} space${n === 1 ? '' : 's'}`;
  const here = `line ${at} is indented ${spaces(has)}`;
  const fixes = columns.map((c, i) => `${i === 0 ? spaces(c.col) : c.col} for ${c.what}`).join(', or ');
  // Where the list's dashes are: a key there without one is neither a new item nor in the last.
  if (itemAt !== undefined) return `${here}, where the items of the list on line ${itemAt} start, but has no '- '; start it with '- ' for a new item${fixes ? `, or indent it ${fixes}` : ''}`;
  if (columns.length === 0) return `${here}, which lines up with nothing above it; indent it like the keys it belongs with`;
  return `${here}, which lines up with no key above it; indent it ${fixes}`;
}
