import { compile } from '../../src/pipeline.js';
import { gcc } from '../../src/cli/formatters/gcc.js';

/** Compiles policy text named `policy.yaml`; returns files by name and gcc-formatted diagnostics. */
export function compileText(text: string, file = 'policy.yaml') {
  const r = compile(text, file);
  const files: Record<string, string> = Object.fromEntries((r.artifacts ?? []).map((a) => [a.file, a.content]));
  return { ...r, files, report: gcc(r.diagnostics) };
}

export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const raw = strings.reduce((acc, s, i) => acc + s + (i < values.length ? String(values[i]) : ''), '');
  const lines = raw.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

/** The files a policy compiles to; a policy that does not compile fails the test with its diagnostics. */
export function compileOrThrow(text: string, file = 'policy.yaml') {
  const r = compile(text, file);
  if (!r.artifacts) throw new Error(`policy does not compile:\n${r.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`).join('\n')}`);
  return r.artifacts;
}
