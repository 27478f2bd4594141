import { CHECKS } from '../check/checks/index.js';
import { CODES, SUPPRESSIBLE, type Code } from '../diagnostics/codes.js';
import { BACKEND } from '../emit/emit.js';

/** docs/diagnostics.md: the code catalogue as one table, so the two cannot drift. */
export function diagnosticsMarkdown(): string {
  const kinds = new Map([...CHECKS, ...BACKEND.guards].map((a) => [a.code, a.kind]));
  const rows = (Object.entries(CODES) as [Code, (typeof CODES)[Code]][]).map(([code, c]) => {
    const severity = `${c.severity}${SUPPRESSIBLE.includes(code) ? ', re-gradable' : ''}`;
    const doc = kinds.get(code) === 'invariant' ? `${c.doc} No valid policy reaches it: it guards ipfence itself, so seeing it is a bug; please report it with the policy.` : c.doc;
    return `| \`${code}\` | ${severity} | ${c.stage} | ${doc} |`;
  });
  return [
    '# ipfence diagnostics',
    '',
    'Generated from [`src/diagnostics/codes.ts`](../src/diagnostics/codes.ts) by `npm run gen`.',
    '',
    'Every diagnostic is plain data: a code from this closed catalogue, a severity, a message that says what is wrong and how to fix it, and the place in the policy (`file:line:col`), often with related places (the earlier rule a conflict is with). The stage is where the pipeline finds it: `load` (YAML), `validate` (the schema), `normalize` (values and the relations between rules), `check` (lint checks over the rules, see [checks.md](checks.md), and guards of ipfence\'s own invariants), `config` (the policy\'s own `checks:` and `suppress:`), `emit` (the guards of the output: what iptables would refuse or alter), `verify` (a real load) and `cli`. A *re-gradable* finding may be set to `error`, `warning` or `off` (`checks:`, `--severity`) or silenced at one rule (`suppress:`).',
    '',
    'Exit status: `0` when there is no error (warnings allowed, unless `--strict` or `--max-warnings`, which then say on standard error how many warnings failed the run), `1` for policy errors (and, with `diff --exit-code`, for a change of verdict), `2` for usage, I/O and internal errors. A reader that stops early (`| head`) is not an error: the rest of the output is dropped and the status is what it would have been.',
    '',
    '| code | severity | stage | meaning |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
