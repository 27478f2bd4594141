import { join } from 'node:path';
import { compareDiagnostics, diag, hasErrors } from '../diagnostics/diagnostic.js';
import { OPTIONAL_OUTPUTS } from '../emit/emit.js';
import { compileInventory, onceAcrossHosts } from './inventory.js';
import { EXIT_OK, EXIT_POLICY, EXIT_USAGE, type IO } from './io.js';
import type { Options } from './options.js';
import { failed, report, unreadable } from './output.js';
import { readAndCompile } from './read-policy.js';
import { FolderError, recoverInterrupted, writeAllAtomic, writeFoldersAtomic } from './write-atomic.js';

export { OPTIONAL_OUTPUTS };

export async function compileCommand(path: string, o: Options, io: IO): Promise<number> {
  const { values, format } = o;
  const color = io.colorStderr && !values['no-color'];
  if (!(await recovered(values['out-dir'] ?? '.', o, io))) return EXIT_USAGE;
  const compiled = await readAndCompile(path, o, io, io.stderr, color);
  if (!compiled.ok) return compiled.exit;
  const { result } = compiled;
  report(result.diagnostics, format, color, io.stderr);
  if (!result.artifacts || failed(result.diagnostics, o, io.stderr)) return unreadable(result.diagnostics) ? EXIT_USAGE : EXIT_POLICY;
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

/**
 * `compile --inventory` (every host into OUT/<host>/, and nothing when any host fails) and
 * `check --inventory` (every host's diagnostics, in one run).
 */
export async function inventoryCommand(path: string, command: 'compile' | 'check', o: Options, io: IO): Promise<number> {
  const { values, format } = o;
  const write = command === 'compile' ? io.stderr : io.stdout;
  const color = (command === 'compile' ? io.colorStderr : io.colorStdout) && !values['no-color'];
  if (command === 'compile' && !(await recovered(values['out-dir'] ?? '.', o, io))) return EXIT_USAGE;
  const { hosts, diagnostics, ioFailed } = await compileInventory(path, o, io, command === 'compile');
  const all = [...diagnostics, ...onceAcrossHosts(hosts)];
  report(command === 'check' ? [...all].sort(compareDiagnostics) : all, format, color, write);
  if (ioFailed || unreadable(all)) return EXIT_USAGE;
  if (hasErrors(all) || hosts.some((h) => failed(h.result.diagnostics, o, (s) => io.stderr(s.replace(/^ipfence: /, `ipfence: host ${h.host}: `))))) return EXIT_POLICY;
  if (command === 'check') return EXIT_OK;
  const outDir = values['out-dir'] ?? '.';
  // Every host's files are written beside their targets before any is put in place: a later
  // host's failure (a full disk, a folder it may not write) leaves no earlier host changed.
  try {
    await writeFoldersAtomic(
      outDir,
      hosts.map((h) => ({ dir: join(outDir, h.host), files: h.result.artifacts!, optional: OPTIONAL_OUTPUTS })),
    );
  } catch (e) {
    const why = e instanceof FolderError ? e.message : `cannot write the output files: ${(e as Error).message}`;
    report([diag('io-write', { file: outDir, line: 1, col: 1 }, why)], format, color, io.stderr);
    return EXIT_USAGE;
  }
  io.stderr(`ipfence: wrote ${hosts.length} hosts to ${outDir}/: ${hosts.map((h) => h.host).join(', ')}\n`);
  return EXIT_OK;
}

/**
 * A compile killed while renaming its files left OUT with files of two compiles: before this
 * compile reads anything (so even one whose policy fails), its record puts OUT back as it was or
 * finishes it. False (said) when that cannot be done.
 */
async function recovered(outDir: string, o: Options, io: IO): Promise<boolean> {
  try {
    const done = await recoverInterrupted(outDir);
    if (done !== null) io.stderr(`ipfence: ${done}\n`);
    return true;
  } catch (e) {
    const why = e instanceof FolderError ? e.message : `cannot recover an interrupted compile's write: ${(e as Error).message}`;
    report([diag('io-write', { file: outDir, line: 1, col: 1 }, why)], o.format, io.colorStderr && !o.values['no-color'], io.stderr);
    return false;
  }
}
