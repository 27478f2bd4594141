import { CODES } from '../diagnostics/codes.js';

/** docs/diagnostics.md: the code catalogue as one table, so the two cannot drift. */
export function diagnosticsMarkdown(): string {
  const rows = Object.entries(CODES).map(([code, c]) => `| \`${code}\` | ${c.severity} | ${c.stage} | ${c.doc} |`);
  return [
    '# ipfence diagnostics',
    '',
    'Generated from [`src/diagnostics/codes.ts`](../src/diagnostics/codes.ts) by `npm run gen`.',
    '',
    'Every diagnostic is plain data: a code from this closed catalogue, a severity, a message that says what is wrong and how to fix it, and the place in the policy (`file:line:col`), often with related places (the earlier rule a conflict is with). The stage is where the pipeline finds it: `load` (YAML), `validate` (the schema), `normalize` (values and the relations between rules), `check` (lint checks over the rules, see [checks.md](checks.md)), `config` (the policy\'s own `checks:` and `suppress:`), `emit` (the guards of the output), `verify` (a real load) and `cli`.',
    '',
    'Exit status: `0` when there is no error (warnings allowed, unless `--strict` or `--max-warnings`, which then say on standard error how many warnings failed the run), `1` for policy errors (and, with `diff --exit-code`, for a change of verdict), `2` for usage, I/O and internal errors. A reader that stops early (`| head`) is not an error: the rest of the output is dropped and the status is what it would have been.',
    '',
    '| code | severity | stage | meaning |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
