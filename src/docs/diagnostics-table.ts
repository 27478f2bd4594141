import { CODES } from '../diagnostics/codes.js';

/** The README's diagnostics table, generated from the catalogue so the two cannot drift. */
export function diagnosticsTable(): string {
  const rows = Object.entries(CODES).map(([code, c]) => `| \`${code}\` | ${c.severity} | ${c.stage} | ${c.doc} |`);
  return ['| code | severity | stage | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
