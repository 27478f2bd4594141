import { diag } from '../diagnostics/diagnostic.js';
import { EXIT_OK, EXIT_POLICY, EXIT_USAGE, type IO } from './io.js';
import type { Options } from './options.js';
import { failed, report } from './output.js';
import { readAndCompile } from './source.js';
import { FolderError, writeAllAtomic } from './write-atomic.js';

/**
 * Outputs a policy may or may not produce; a stale one from an earlier compile is removed
 * (routing.sh is what compiles wrote before apply.sh took over the routing).
 */
export const OPTIONAL_OUTPUTS = ['ipsets', 'ipfence-docker.service', 'routing.sh'];

export async function compileCommand(path: string, o: Options, io: IO): Promise<number> {
  const { values, format } = o;
  const color = io.colorStderr && !values['no-color'];
  const compiled = await readAndCompile(path, o, io, io.stderr, color);
  if (!compiled.ok) return compiled.exit;
  const { result } = compiled;
  report(result.diagnostics, format, color, io.stderr);
  if (!result.artifacts || failed(result.diagnostics, o)) return EXIT_POLICY;
  const outDir = values['out-dir'] ?? '.';
  try {
    const removed = await writeAllAtomic(outDir, result.artifacts, OPTIONAL_OUTPUTS);
    for (const r of removed) io.stderr(`ipfence: removed ${outDir}/${r} (the policy no longer produces it)\n`);
  } catch (e) {
    // A failed rename half way would leave files of two compiles, which apply.sh refuses (their headers differ).
    const why = e instanceof FolderError ? `${e.message}; nothing was written` : `cannot write the output files: ${(e as Error).message}`;
    report([diag('io-write', { file: outDir, line: 1, col: 1 }, why)], format, color, io.stderr);
    return EXIT_USAGE;
  }
  if (values.print) for (const a of result.artifacts) io.stdout(`==> ${outDir}/${a.file} <==\n${a.content}`);
  io.stderr(`ipfence: wrote ${result.artifacts.map((a) => `${outDir}/${a.file}`).join(', ')}\n`);
  return EXIT_OK;
}
