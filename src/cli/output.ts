import { hasErrors, type Diagnostic } from '../diagnostics/diagnostic.js';
import { visible } from '../diagnostics/visible.js';
import type { CompileResult } from '../pipeline.js';
import { FORMATS, type FormatName } from './formatters/index.js';
import type { IO } from './io.js';
import type { Options } from './options.js';

/** A file could not be read (an include, a committed output): exit 2, as for the policy itself. */
export const unreadable = (ds: readonly Diagnostic[]): boolean => ds.some((d) => d.code === 'io-read' && d.severity === 'error');

/** 1 when there are errors or more warnings than allowed. */
export function failed(ds: readonly Diagnostic[], o: Options): boolean {
  return hasErrors(ds) || ds.filter((d) => d.severity === 'warning').length > o.maxWarnings;
}

export function report(ds: readonly Diagnostic[], format: FormatName, color: boolean, write: (s: string) => void): void {
  // Machine formats always print a document, so a CI step can parse or upload it even when clean.
  if (ds.length > 0 || format === 'json' || format === 'sarif') write(FORMATS[format](ds.map(shown), color));
}

/** A markdown table cell: no pipe, backslash or angle bracket from a policy's names can break the table. */
export const markdownCell = (s: string): string => visible(s).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A diagnostic as it may be printed: a policy's keys and values, and file names, reach messages,
 * and a control character in them must not erase or fake lines of a terminal or a CI log.
 */
function shown(d: Diagnostic): Diagnostic {
  const related = d.related?.map((r) => ({ ...r, file: visible(r.file), message: visible(r.message) }));
  return { ...d, file: visible(d.file), message: visible(d.message), ...(related ? { related } : {}) };
}


