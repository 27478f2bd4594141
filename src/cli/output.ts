import { hasErrors, type Diagnostic } from '../diagnostics/diagnostic.js';
import { visible } from '../diagnostics/visible.js';
import { FORMATS, type FormatName } from './formatters/index.js';
import type { Options } from './options.js';

/** A file could not be read (an include, a committed output): exit 2, as for the policy itself. */
export const unreadable = (ds: readonly Diagnostic[]): boolean => ds.some((d) => d.code === 'io-read' && d.severity === 'error');

/**
 * 1 when there are errors or more warnings than allowed. Warnings alone fail a run only by an
 * option, so `say` (standard error) is told which one: a list of warnings and exit 1 would
 * otherwise look like a bug ("3 warnings, more than --max-warnings 2").
 */
export function failed(ds: readonly Diagnostic[], o: Options, say?: (s: string) => void): boolean {
  if (hasErrors(ds)) return true;
  const warnings = ds.filter((d) => d.severity === 'warning').length;
  if (warnings <= o.maxWarnings) return false;
  say?.(`ipfence: ${tooManyWarnings(warnings, o)}\n`);
  return true;
}

/** Why `warnings` fail the run: --strict, or the --max-warnings given. */
function tooManyWarnings(warnings: number, o: Options): string {
  const count = `${warnings} warning${warnings === 1 ? '' : 's'}`;
  return o.values.strict ? `${count}, and --strict allows none` : `${count}, more than --max-warnings ${o.maxWarnings}`;
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

/**
 * How many addresses, ports, interfaces or users a table cell (show) or a row (diff) lists before it says how many more
 * (json lists each). A row of a large policy otherwise lists every banned host, and so does each
 * of its thousands of rows: the table grew with the square of the policy, past what anyone reads.
 */
export const CELL_ITEMS = 8;
