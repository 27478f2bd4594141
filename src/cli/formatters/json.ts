import type { Diagnostic } from '../../diagnostics/diagnostic.js';

export function json(ds: readonly Diagnostic[]): string {
  return `${JSON.stringify(ds, null, 2)}\n`;
}
