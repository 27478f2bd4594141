import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { compareDiagnostics, diag, hasErrors, type Diagnostic } from '../diagnostics/diagnostic.js';
import { isSuppressible, type Level } from '../check/config.js';
import { SUPPRESSIBLE } from '../diagnostics/codes.js';
import { lazy } from '../util/lazy.js';
import { VERSION } from '../util/package-root.js';
import { compile, type CompileResult } from '../pipeline.js';
import { FORMATS, type FormatName } from './formatters/index.js';
import { kernelLab, type LabStatus } from '../verify/netns.js';
import { verifyArtifacts } from '../verify/verify.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FolderError, GENERATED, writeAllAtomic } from './write-atomic.js';
import { DEFAULT_MAX_BYTES, ReadError, type ReadLimits } from './read.js';
import { visible } from '../diagnostics/visible.js';

export interface IO {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  /**
   * Bytes, not text: the headers give the SHA-256 of the policy's bytes, as `sha256sum` does. Both
   * refuse more than maxBytes; readFile refuses what is not a regular file (src/cli/read.ts).
   */
  readonly readStdin: (maxBytes: number) => Promise<Uint8Array>;
  readonly readFile: (path: string, limits: ReadLimits) => Promise<Uint8Array>;
  readonly colorStdout: boolean;
  readonly colorStderr: boolean;
  /** Whether namespaces can be made here; tests replace it to exercise the refusal path. */
  readonly kernelLab?: () => LabStatus;
}

export const EXIT_OK = 0;
export const EXIT_POLICY = 1;
export const EXIT_USAGE = 2;

const HELP = `ipfence ${VERSION}: compile a YAML firewall policy into iptables-restore files

Usage:
  ipfence compile POLICY [--out-dir DIR] [--print] [--format F]
  ipfence check POLICY... [--format F]
  ipfence verify POLICY [--format F]     (root: loads the result into a throwaway network namespace)
  POLICY may be - for standard input (name it in messages with --stdin-filename NAME).

Options:
  -o, --out-dir DIR        where compile writes rules.v4, rules.v6, apply.sh, ...; default .
      --host-dir DIR       where the files will live on the host (ipfence.service runs
                           DIR/apply.sh at boot); default /etc/ipfence
      --print              compile: also print the generated files to standard output
  -f, --format F           diagnostics as stylish (default), gcc, json, github or sarif
      --severity CODE=LEVEL  re-grade a check: error, warning or off (repeatable; wins over the policy)
      --max-warnings N     exit 1 when there are more than N warnings
      --strict             exit 1 on any warning (same as --max-warnings 0)
      --against DIR        check: also fail (with a unified diff) when the files in DIR are not
                           what the policy compiles to
  check expands globs itself ('policies/**/*.yaml'), so quote them.
      --stdin-filename N   the name used for - in messages and headers (default <stdin>)
      --max-bytes N        refuse a policy larger than N bytes (default 32 MiB; no policy is near it)
      --no-color           never colour stylish output (NO_COLOR is honoured too)
  -h, --help, -v, --version

Exit status: 0 clean (warnings allowed unless --strict/--max-warnings), 1 policy errors,
2 usage, I/O or internal error.
`;

class UsageError extends Error {}

/**
 * Outputs a policy may or may not produce; a stale one from an earlier compile is removed
 * (routing.sh is what compiles before apply.sh took over the routing wrote).
 */
const OPTIONAL_OUTPUTS = ['ipsets', 'ipfence-docker.service', 'routing.sh'];

export async function main(argv: readonly string[], io: IO): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (e) {
    io.stderr(`ipfence: ${(e as Error).message}\nRun 'ipfence --help' for usage.\n`);
    return EXIT_USAGE;
  }
  const { values, positionals } = args;
  if (values.help) {
    io.stdout(HELP);
    return EXIT_OK;
  }
  if (values.version) {
    io.stdout(`${VERSION}\n`);
    return EXIT_OK;
  }
  try {
    const [command, ...files] = positionals;
    const format = (values.format ?? 'stylish') as FormatName;
    if (!(format in FORMATS)) throw new UsageError(`unknown --format '${format}'; use ${Object.keys(FORMATS).join(', ')}`);
    const g = gate(values);
    if (command === 'compile') {
      if (files.length !== 1) throw new UsageError('compile takes exactly one policy file (or -)');
      return await compileCommand(files[0]!, values, format, g, io);
    }
    if (command === 'check') {
      if (files.length === 0) throw new UsageError('check takes one or more policy files (or -)');
      const expanded = await expandGlobs(files);
      if (values.against !== undefined && expanded.length !== 1) throw new UsageError('--against compares one policy with one output folder; give exactly one policy');
      return await checkCommand(expanded, values, format, g, io);
    }
    if (command === 'verify') {
      if (files.length !== 1) throw new UsageError('verify takes exactly one policy file (or -)');
      return await verifyCommand(files[0]!, values, format, g, io);
    }
    throw new UsageError(command === undefined ? 'missing command: compile, check or verify' : `unknown command '${command}'; use compile, check or verify`);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`ipfence: ${e.message}\nRun 'ipfence --help' for usage.\n`);
      return EXIT_USAGE;
    }
    io.stderr(`ipfence: internal error: ${(e as Error).message}\nThis is a bug in ipfence; please report it with the policy that caused it.\n`);
    if (process.env.IPFENCE_DEBUG) io.stderr(`${(e as Error).stack ?? ''}\n`);
    return EXIT_USAGE;
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      'out-dir': { type: 'string', short: 'o' },
      'host-dir': { type: 'string' },
      print: { type: 'boolean' },
      format: { type: 'string', short: 'f' },
      'stdin-filename': { type: 'string' },
      'max-bytes': { type: 'string' },
      'no-color': { type: 'boolean' },
      severity: { type: 'string', multiple: true },
      'max-warnings': { type: 'string' },
      strict: { type: 'boolean' },
      against: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}

type Values = ReturnType<typeof parse>['values'];

interface Gate {
  readonly severity: Readonly<Record<string, Level>>;
  readonly maxWarnings: number;
}

/** --severity, --max-warnings and --strict, checked once for every command. */
function gate(values: Values): Gate {
  const severity: Record<string, Level> = {};
  for (const item of values.severity ?? []) {
    const m = /^([a-z0-9-]+)=(error|warning|off)$/.exec(item);
    if (!m) throw new UsageError(`--severity takes CODE=error|warning|off, not '${item}'`);
    if (!isSuppressible(m[1]!)) throw new UsageError(`--severity: '${m[1]}' cannot be re-graded; these can: ${SUPPRESSIBLE.join(', ')}`);
    severity[m[1]!] = m[2] as Level;
  }
  let maxWarnings = Infinity;
  if (values['max-warnings'] !== undefined) {
    if (!/^\d+$/.test(values['max-warnings'])) throw new UsageError(`--max-warnings takes a whole number, not '${values['max-warnings']}'`);
    maxWarnings = Number(values['max-warnings']);
  }
  if (values.strict) maxWarnings = 0;
  return { severity, maxWarnings };
}

/** The most a policy (or a committed output) may be: --max-bytes, else the default. */
function maxBytes(values: Values): number {
  const v = values['max-bytes'];
  if (v === undefined) return DEFAULT_MAX_BYTES;
  if (!/^[1-9]\d*$/.test(v)) throw new UsageError(`--max-bytes takes a whole number of bytes, not '${v}'`);
  return Number(v);
}

/** Why a read failed, as a message ends: the file system's reason, or what ipfence refused. */
function readFailure(e: unknown): string {
  if (e instanceof ReadError) return e.message;
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
}

/** --host-dir goes into the systemd units' ExecStart: an absolute path with no space or quote. */
function hostDir(values: Values): string | undefined {
  const dir = values['host-dir'];
  if (dir !== undefined && !/^\/[A-Za-z0-9._/-]*$/.test(dir)) throw new UsageError(`--host-dir takes an absolute path of letters, digits and . _ - / only, not '${dir}'`);
  return dir?.replace(/(.)\/+$/, '$1');
}

/** 1 when there are errors or more warnings than allowed. */
function failed(ds: readonly Diagnostic[], g: Gate): boolean {
  return hasErrors(ds) || ds.filter((d) => d.severity === 'warning').length > g.maxWarnings;
}

interface Source {
  readonly text?: string;
  /** The SHA-256 of the bytes read (hex), when files will be written from them. */
  readonly hash?: string;
  readonly file: string;
  readonly problem?: Diagnostic;
}

/** Bytes as UTF-8 text, as `readFile(path, 'utf8')` decodes them (a byte order mark is kept, bad bytes become U+FFFD). */
const utf8 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

/** The policy's text, and with `hashed` the SHA-256 of its bytes for the headers (a plain check writes none). */
async function readPolicy(path: string, values: Values, io: IO, hashed: boolean): Promise<Source> {
  const file = path === '-' ? values['stdin-filename'] ?? '<stdin>' : path;
  const max = maxBytes(values);
  try {
    const bytes = path === '-' ? await io.readStdin(max) : await io.readFile(path, { maxBytes: max });
    return { file, text: utf8(bytes), hash: hashed ? createHash('sha256').update(bytes).digest('hex') : undefined };
  } catch (e) {
    return { file, problem: diag('io-read', { file, line: 1, col: 1 }, `cannot read the policy: ${readFailure(e)}`) };
  }
}

function report(ds: readonly Diagnostic[], format: FormatName, color: boolean, write: (s: string) => void): void {
  // Machine formats always print a document, so a CI step can parse or upload it even when clean.
  if (ds.length > 0 || format === 'json' || format === 'sarif') write(FORMATS[format](ds.map(shown), color));
}

/**
 * A diagnostic as it may be printed: a policy's keys and values, and file names, reach messages,
 * and a control character in them must not erase or fake lines of a terminal or a CI log.
 */
function shown(d: Diagnostic): Diagnostic {
  const related = d.related?.map((r) => ({ ...r, file: visible(r.file), message: visible(r.message) }));
  return { ...d, file: visible(d.file), message: visible(d.message), ...(related ? { related } : {}) };
}

/** Notes go to stderr in every format: they are not findings, and stdout stays parseable. */
function printNotes(result: CompileResult, file: string, io: IO): void {
  for (const n of result.notes ?? []) io.stderr(`ipfence: note: ${visible(file)}: ${visible(n)}\n`);
}

type Compiled = { readonly ok: true; readonly result: CompileResult; readonly file: string } | { readonly ok: false; readonly exit: number };

/** Reads one policy and compiles it; a read failure is reported here and ends the command (exit 2). */
async function readAndCompile(path: string, values: Values, format: FormatName, g: Gate, io: IO, write: (s: string) => void, color: boolean): Promise<Compiled> {
  const src = await readPolicy(path, values, io, true);
  if (src.problem) {
    report([src.problem], format, color, write);
    return { ok: false, exit: EXIT_USAGE };
  }
  return { ok: true, result: compile(src.text!, src.file, basename(src.file), { severity: g.severity, sourceHash: src.hash, hostDir: hostDir(values) }), file: src.file };
}

async function compileCommand(path: string, values: Values, format: FormatName, g: Gate, io: IO): Promise<number> {
  const color = io.colorStderr && !values['no-color'];
  const compiled = await readAndCompile(path, values, format, g, io, io.stderr, color);
  if (!compiled.ok) return compiled.exit;
  const { result } = compiled;
  report(result.diagnostics, format, color, io.stderr);
  printNotes(result, compiled.file, io);
  if (!result.artifacts || failed(result.diagnostics, g)) return EXIT_POLICY;
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

const GLOB = /[*?[\]{}]/;

/** Quoted globs are expanded here (shells differ on `**`); matches are sorted for stable output. */
async function expandGlobs(args: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const a of args) {
    if (a === '-' || !GLOB.test(a) || existsSync(a)) {
      out.push(a);
      continue;
    }
    const found = (await lazy.tinyglobby().glob(a, { onlyFiles: true, dot: false })).sort();
    if (found.length === 0) throw new UsageError(`no file matches '${a}'`);
    out.push(...found);
  }
  return [...new Set(out)];
}

/** What --against found in `dir`: unified diffs, and the committed files it refused to read. */
interface Committed {
  readonly diffs: string[];
  readonly refused: Diagnostic[];
}

/**
 * Unified diffs between the committed outputs in `dir` and what the policy compiles to. Only
 * regular files are read: a committed symbolic link (to /proc/self/environ, say) or device is
 * refused at its path, and nothing of it is printed.
 */
async function staleOutputs(dir: string, artifacts: readonly { file: string; content: string }[], io: IO, max: number): Promise<Committed> {
  const { createTwoFilesPatch } = lazy.diff();
  const out: Committed = { diffs: [], refused: [] };
  // The committed text; null when there is no such file, undefined when it was refused.
  const read = async (path: string): Promise<string | null | undefined> => {
    try {
      return utf8(await io.readFile(path, { maxBytes: max, noFollow: true }));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      out.refused.push(diag('io-read', { file: path, line: 1, col: 1 }, `--against reads only the regular files it compares, and ${path} cannot be: ${readFailure(e)}; commit the file itself`));
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

async function checkCommand(paths: readonly string[], values: Values, format: FormatName, g: Gate, io: IO): Promise<number> {
  const all: Diagnostic[] = [];
  let ioFailed = false;
  for (const path of paths) {
    const src = await readPolicy(path, values, io, values.against !== undefined);
    if (src.problem) {
      all.push(src.problem);
      ioFailed = true;
      continue;
    }
    // Only --against needs the files themselves; a plain check skips emitting (and its templates).
    const result = compile(src.text!, src.file, basename(src.file), { severity: g.severity, emit: values.against !== undefined, sourceHash: src.hash, hostDir: hostDir(values) });
    all.push(...result.diagnostics);
    printNotes(result, src.file, io);
    if (values.against !== undefined && result.artifacts) {
      const { diffs, refused } = await staleOutputs(values.against, result.artifacts, io, maxBytes(values));
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
  all.sort(compareDiagnostics);
  report(all, format, io.colorStdout && !values['no-color'], io.stdout);
  return ioFailed ? EXIT_USAGE : failed(all, g) ? EXIT_POLICY : EXIT_OK;
}

async function verifyCommand(path: string, values: Values, format: FormatName, g: Gate, io: IO): Promise<number> {
  const lab = (io.kernelLab ?? kernelLab)();
  if (!lab.ok) {
    io.stderr(`ipfence: verify cannot run here: ${lab.why}. It loads the rules into a throwaway network namespace; run it as root (sudo) on a machine with iptables and iproute2.\n`);
    return EXIT_USAGE;
  }
  const color = io.colorStdout && !values['no-color'];
  const compiled = await readAndCompile(path, values, format, g, io, io.stdout, color);
  if (!compiled.ok) return compiled.exit;
  const { result } = compiled;
  printNotes(result, compiled.file, io);
  if (!result.artifacts) {
    report(result.diagnostics, format, color, io.stdout);
    return EXIT_POLICY;
  }
  const refused = await verifyArtifacts(result.artifacts, lab.backends, compiled.file);
  const all = [...result.diagnostics, ...refused].sort(compareDiagnostics);
  report(all, format, color, io.stdout);
  if (refused.length === 0) io.stderr(`ipfence: the kernel accepted rules.v4 and rules.v6 on the ${lab.backends.join(' and ')} back end${lab.backends.length > 1 ? 's' : ''}\n`);
  return failed(all, g) ? EXIT_POLICY : EXIT_OK;
}
