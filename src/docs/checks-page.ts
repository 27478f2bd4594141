import { CODES, SUPPRESSIBLE, type Code } from '../diagnostics/codes.js';
import { gcc } from '../cli/formatters/gcc.js';
import { compile } from '../pipeline.js';
import { CHECKS } from '../check/checks/index.js';
import { GUARDS } from '../emit/guards/index.js';

/**
 * docs/checks.md, generated: one section per lint check (its docs, and for policy-level checks an
 * example policy with the diagnostic it really produces), then the errors found while reading a
 * policy.
 */
export function checksMarkdown(): string {
  const out: string[] = [
    '# ipfence checks',
    '',
    'Generated from `src/check/checks/*.ts` and `src/diagnostics/codes.ts` by `npm run gen`.',
    '',
    'Checks marked *re-gradable* may be set to `error`, `warning` or `off` in the policy (`checks: { code: off }`) or on the command line (`--severity code=off`), and silenced at one rule with a reason (`suppress: { code: "why" }`). The others guard what the kernel or iptables would refuse or silently alter and cannot be turned off.',
    '',
    '## Lint checks',
    '',
  ];
  for (const c of [...CHECKS].sort((a, b) => a.code.localeCompare(b.code))) {
    out.push(`### \`${c.code}\``, '', `*${c.severity}*${SUPPRESSIBLE.includes(c.code) ? ', re-gradable' : ''}`, '', c.docs, '');
    if (c.example) {
      const found = compile(c.example, 'policy.yaml').diagnostics.filter((d) => d.code === c.code);
      out.push('Example:', '', '```yaml', c.example.trimEnd(), '```', '', '```', gcc(found).trimEnd(), '```', '');
    } else {
      out.push('Reached only by IR that no policy produces today: it guards the compiler itself.', '');
    }
  }
  out.push('## Guards of the output', '', 'Checked on the rendered files before anything is written. No valid policy reaches them: they keep a bug in ipfence from reaching a host.', '');
  for (const g of [...GUARDS].sort((a, b) => a.code.localeCompare(b.code))) out.push(`### \`${g.code}\``, '', '*error*', '', g.docs, '');
  out.push('## Problems found while reading a policy', '', 'Reported with file, line and column before anything is compiled; `test/fixtures/_errors_/` has an example of each.', '', '| code | severity | meaning |', '|---|---|---|');
  const lint = new Set<string>([...CHECKS, ...GUARDS].map((c) => c.code));
  for (const [code, c] of Object.entries(CODES) as [Code, (typeof CODES)[Code]][]) {
    if (!lint.has(code)) out.push(`| \`${code}\` | ${c.severity}${SUPPRESSIBLE.includes(code) ? ', re-gradable' : ''} | ${c.doc} |`);
  }
  return `${out.join('\n')}\n`;
}
