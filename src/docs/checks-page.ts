import { CODES, SUPPRESSIBLE } from '../diagnostics/codes.js';
import { gcc } from '../cli/formatters/gcc.js';
import { compile } from '../pipeline.js';
import { CHECKS } from '../check/checks/index.js';

/**
 * docs/checks.md, generated: one section per lint check, with its docs and an example policy with
 * the diagnostic it really produces. Invariants and limits are not judgements about a policy; the
 * code catalogue (diagnostics.md) lists them with everything else.
 */
export function checksMarkdown(): string {
  const out: string[] = [
    '# ipfence checks',
    '',
    'Generated from `src/check/checks/*.ts` and `src/diagnostics/codes.ts` by `npm run gen`.',
    '',
    'The lint checks: judgements about a policy that compiles, made on its rules. Checks marked *re-gradable* may be set to `error`, `warning` or `off` in the policy (`checks: { code: off }`) or on the command line (`--severity code=off`), and silenced at one rule with a reason (`suppress: { code: "why" }`). Every other code (the problems found while reading a policy, what iptables would refuse, and the guards of ipfence\'s own invariants) is in [diagnostics.md](diagnostics.md).',
    '',
  ];
  for (const c of CHECKS.filter((c) => c.kind === 'lint').sort((a, b) => a.code.localeCompare(b.code))) {
    out.push(`## \`${c.code}\``, '', `*${CODES[c.code].severity}*${SUPPRESSIBLE.includes(c.code) ? ', re-gradable' : ''}`, '', c.docs, '');
    if (c.example === undefined) throw new Error(`lint check ${c.code} has no example`);
    const found = compile(c.example, 'policy.yaml').diagnostics.filter((d) => d.code === c.code);
    out.push('Example:', '', '```yaml', c.example.trimEnd(), '```', '', '```', gcc(found).trimEnd(), '```', '');
  }
  return `${out.join('\n')}\n`;
}
