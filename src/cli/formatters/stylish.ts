import { styleText } from 'node:util';
import type { Diagnostic } from '../../diagnostics/diagnostic.js';

export interface StylishOptions {
  readonly color: boolean;
}

/** For people: grouped by file, aligned, coloured only when the caller says the stream is a TTY. */
export function stylish(ds: readonly Diagnostic[], opts: StylishOptions = { color: false }): string {
  // The caller already decided (TTY, NO_COLOR, --no-color); styleText must not second-guess it.
  const paint = (fmt: Parameters<typeof styleText>[0], s: string): string => (opts.color ? styleText(fmt, s, { validateStream: false }) : s);
  const out: string[] = [];
  const files = [...new Set(ds.map((d) => d.file))];
  for (const file of files) {
    out.push(paint('underline', file));
    for (const d of ds.filter((x) => x.file === file)) {
      const sev = d.severity === 'error' ? paint('red', 'error  ') : paint('yellow', 'warning');
      out.push(`  ${`${d.line}:${d.col}`.padEnd(8)} ${sev}  ${d.message}  ${paint('dim', d.code)}`);
      for (const r of d.related ?? []) out.push(`  ${''.padEnd(8)} ${paint('dim', `note: ${r.message} at ${r.file}:${r.line}:${r.col}`)}`);
    }
    out.push('');
  }
  const errors = ds.filter((d) => d.severity === 'error').length;
  const warnings = ds.length - errors;
  if (ds.length > 0) out.push(paint(errors > 0 ? 'red' : 'yellow', `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`));
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}
