import { checksMarkdown } from './checks-page.js';
import { diagnosticsMarkdown } from './diagnostics-page.js';

/** The pages of docs/ that are generated from the code, by path (scripts/gen.mjs writes them). */
export function docsPages(): Record<string, string> {
  return { 'docs/checks.md': checksMarkdown(), 'docs/diagnostics.md': diagnosticsMarkdown() };
}
