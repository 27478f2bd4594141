import { styleText } from 'node:util';
import type { Diagnostic } from '../../diagnostics/diagnostic.js';

export interface StylishOptions {
  readonly color: boolean;
}

const NOTE_INDENT = ' '.repeat(8);
const BATCH = 1024;

/** Lines joined by newlines, 1,024 at a time. */
class LineBatches {
  private readonly batches: string[] = [];
  private readonly batch: string[] = [];

  push(line: string): void {
    this.batch.push(line);
    if (this.batch.length === BATCH) {
      this.batches.push(this.batch.join('\n'));
      this.batch.length = 0;
    }
  }

  /** Every line, each ending in a newline; '' for none. */
  text(): string {
    if (this.batch.length > 0) this.batches.push(this.batch.join('\n'));
    this.batch.length = 0;
    return this.batches.length > 0 ? `${this.batches.join('\n')}\n` : '';
  }
}

/** For people: grouped by file, aligned, coloured only when the caller says the stream is a TTY. */
export function stylish(ds: readonly Diagnostic[], opts: StylishOptions = { color: false }): string {
  // The caller already decided (TTY, NO_COLOR, --no-color); styleText must not second-guess it.
  const paint = (fmt: Parameters<typeof styleText>[0], s: string): string => (opts.color ? styleText(fmt, s, { validateStream: false }) : s);
  // Joined in batches: a policy with 25,000 findings has 50,000 lines, and kept apart until one
  // final join, every collection copied them.
  const out = new LineBatches();
  const files = [...new Set(ds.map((d) => d.file))];
  for (const file of files) {
    out.push(paint('underline', file));
    const inFile = ds.filter((x) => x.file === file);
    for (let k = 0; k < inFile.length; k++) {
      const d = inFile[k]!;
      const sev = d.severity === 'error' ? paint('red', 'error  ') : paint('yellow', 'warning');
      out.push(`  ${`${d.line}:${d.col}`.padEnd(8)} ${sev}  ${d.message}  ${paint('dim', d.code)}`);
      const related = d.related ?? [];
      for (let i = 0; i < related.length; i++) {
        const r = related[i]!;
        out.push(`  ${NOTE_INDENT} ${paint('dim', `note: ${r.message} at ${r.file}:${r.line}:${r.col}`)}`);
      }
    }
    out.push('');
  }
  const errors = ds.filter((d) => d.severity === 'error').length;
  const warnings = ds.length - errors;
  if (ds.length > 0) out.push(paint(errors > 0 ? 'red' : 'yellow', `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`));
  return out.text();
}
