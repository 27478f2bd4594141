import type { Diagnostic } from '../../diagnostics/diagnostic.js';

// Escaping as actions/toolkit's command.ts does: data, then properties additionally escape : and ,.
export const escapeData = (s: string): string => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
export const escapeProperty = (s: string): string => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** GitHub Actions workflow commands: each diagnostic becomes an annotation on the policy line. */
export function github(ds: readonly Diagnostic[]): string {
  return ds
    .map((d) => {
      const related = (d.related ?? []).map((r) => ` (see ${r.file}:${r.line}:${r.col}: ${r.message})`).join('');
      const props = `file=${escapeProperty(d.file)},line=${d.line},col=${d.col},title=${escapeProperty(`ipfence ${d.code}`)}`;
      return `::${d.severity} ${props}::${escapeData(d.message + related)}\n`;
    })
    .join('');
}
