import type { Diagnostic } from '../../diagnostics/diagnostic.js';

/** `file:line:col: severity: message [code]`, the form editors and CI log parsers understand. */
export function gcc(ds: readonly Diagnostic[]): string {
  return ds
    .flatMap((d) => [
      `${d.file}:${d.line}:${d.col}: ${d.severity}: ${d.message} [${d.code}]`,
      ...(d.related ?? []).map((r) => `${r.file}:${r.line}:${r.col}: note: ${r.message}`),
    ])
    .map((l) => `${l}\n`)
    .join('');
}
