import { basename, join } from 'node:path';
import { compareDiagnostics, diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { compile } from '../pipeline.js';
import { lazy } from '../util/lazy.js';
import { EXIT_OK, EXIT_POLICY, EXIT_USAGE, type IO } from './io.js';
import type { Options } from './options.js';
import { failed, report, unreadable } from './output.js';
import { readFailure, utf8 } from './read.js';
import { readPolicy, includesOf } from './read-policy.js';
import { GENERATED, interruptedRecord } from './write-atomic.js';
import { OPTIONAL_OUTPUTS } from './compile.js';

/** What --against found in `dir`: unified diffs, and the committed files it refused to read. */
interface Committed {
  readonly diffs: string[];
  readonly refused: Diagnostic[];
}

/**
 * Unified diffs between the committed outputs in `dir` and what the policy compiles to. Each is
 * read by the one reader of the checkout (io.readFile): a committed symbolic link (to
 * /proc/self/environ, say), a device or a file outside the working directory is refused at its
 * path, and nothing of it is printed.
 */
async function staleOutputs(dir: string, artifacts: readonly { file: string; content: string }[], io: IO, max: number): Promise<Committed> {
  const { createTwoFilesPatch } = lazy.diff();
  const out: Committed = { diffs: [], refused: [] };
  // The committed text; null when there is no such file, undefined when it was refused.
  const read = async (path: string): Promise<string | null | undefined> => {
    try {
      return utf8((await io.readFile(path, { maxBytes: max })).bytes);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      out.refused.push(diag('io-read', { file: path, line: 1, col: 1 }, `--against cannot read ${path}: ${readFailure(e)}`));
      return undefined;
    }
  };
  const produced = new Set(artifacts.map((a) => a.file));
  for (const a of artifacts) {
    const path = join(dir, a.file);
    const committed = await read(path);
    if (committed === undefined) continue;
    if (committed !== a.content) out.diffs.push(createTwoFilesPatch(committed === null ? '/dev/null' : path, path, committed ?? '', a.content, committed === null ? '' : 'committed', 'compiled'));
  }
  for (const name of OPTIONAL_OUTPUTS.filter((n) => !produced.has(n))) {
    const path = join(dir, name);
    const committed = await read(path);
    if (committed !== undefined && committed !== null && GENERATED.test(committed)) out.diffs.push(createTwoFilesPatch(path, '/dev/null', committed, '', 'committed', 'no longer produced'));
  }
  return out;
}

export async function checkCommand(paths: readonly string[], o: Options, io: IO): Promise<number> {
  const { values, format } = o;
  const all: Diagnostic[] = [];
  let ioFailed = false;
  const checked = new Set<string>();
  for (const path of paths) {
    const src = await readPolicy(path, o, io, values.against !== undefined);
    if (src.problem) {
      all.push(src.problem);
      ioFailed = true;
      continue;
    }
    // One file named twice (p.yaml ./p.yaml, a glob and its match, a hard link) is checked once.
    if (src.id !== undefined && checked.has(src.id)) continue;
    if (src.id !== undefined) checked.add(src.id);
    // Only --against needs the files themselves; a plain check skips emitting (and its templates).
    const { includes, hash, identity } = await includesOf(src, src.text!, src.hash, o, io);
    const result = compile(src.text!, src.file, basename(src.file), { severity: o.severity, emit: values.against !== undefined, sourceHash: hash, hostDir: o.hostDir, includes, identity });
    all.push(...result.diagnostics);
    if (values.against !== undefined && result.artifacts) {
      const { diffs, refused } = await staleOutputs(values.against, result.artifacts, io, o.maxBytes);
      if (refused.length > 0) {
        all.push(...refused);
        ioFailed = true;
      }
      if (diffs.length > 0) {
        all.push(diag('stale-artifact', { file: src.file, line: 1, col: 1 }, `the files in ${values.against} are not what this policy compiles to; run 'ipfence compile ${path} --out-dir ${values.against}' and commit the result`));
        // Machine-readable formats keep stdout parseable; the diff is for the log.
        (format === 'json' || format === 'sarif' ? io.stderr : io.stdout)(diffs.join(''));
      }
    }
  }
  // A compile killed while renaming its files left them half old, half new: the next compile
  // puts them right; check only says so (it writes nothing).
  const record = values.against !== undefined ? await interruptedRecord(values.against) : null;
  if (record !== null) all.push(diag('stale-artifact', { file: values.against!, line: 1, col: 1 }, `the files in ${values.against} are from a compile that was killed while writing them (its record is ${record}); run the compile again, which first puts the folder back as it was, then commit the result`));
  all.sort(compareDiagnostics);
  report(all, format, io.colorStdout && !values['no-color'], io.stdout);
  return ioFailed || unreadable(all) ? EXIT_USAGE : failed(all, o, io.stderr) ? EXIT_POLICY : EXIT_OK;
}
