import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { compareDiagnostics, diag, hasErrors, type Diagnostic } from '../diagnostics/diagnostic.js';
import { VERSION } from '../package-root.js';
import { compile } from '../pipeline.js';
import { FORMATS, type FormatName } from './formatters/index.js';
import { kernelLab, type LabStatus } from '../verify/netns.js';
import { verifyArtifacts } from '../verify/verify.js';
import { removeStale, writeAllAtomic } from './write-atomic.js';

export interface IO {
  readonly stdout: (s: string) => void;
  readonly stderr: (s: string) => void;
  readonly readStdin: () => Promise<string>;
  readonly readFile: (path: string) => Promise<string>;
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
  -o, --out-dir DIR        where compile writes rules.v4, rules.v6 (and routing.sh); default .
      --print              compile: also print the generated files to standard output
  -f, --format F           diagnostics as stylish (default), gcc, json or github
      --stdin-filename N   the name used for - in messages and headers (default <stdin>)
      --no-color           never colour stylish output (NO_COLOR is honoured too)
  -h, --help, -v, --version

Exit status: 0 clean (warnings allowed), 1 policy errors, 2 usage, I/O or internal error.
`;

class UsageError extends Error {}

/** Outputs a policy may or may not produce; a stale one from an earlier compile is removed. */
const OPTIONAL_OUTPUTS = ['routing.sh'];

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
    if (!(format in FORMATS)) throw new UsageError(`unknown --format '${format}'; use stylish, gcc, json or github`);
    if (command === 'compile') {
      if (files.length !== 1) throw new UsageError('compile takes exactly one policy file (or -)');
      return await compileCommand(files[0]!, values, format, io);
    }
    if (command === 'check') {
      if (files.length === 0) throw new UsageError('check takes one or more policy files (or -)');
      return await checkCommand(files, values, format, io);
    }
    if (command === 'verify') {
      if (files.length !== 1) throw new UsageError('verify takes exactly one policy file (or -)');
      return await verifyCommand(files[0]!, values, format, io);
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
      print: { type: 'boolean' },
      format: { type: 'string', short: 'f' },
      'stdin-filename': { type: 'string' },
      'no-color': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}

type Values = ReturnType<typeof parse>['values'];

interface Source {
  readonly text?: string;
  readonly file: string;
  readonly problem?: Diagnostic;
}

async function readPolicy(path: string, values: Values, io: IO): Promise<Source> {
  const file = path === '-' ? values['stdin-filename'] ?? '<stdin>' : path;
  try {
    return { file, text: path === '-' ? await io.readStdin() : await io.readFile(path) };
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    return { file, problem: diag('io-read', { file, line: 1, col: 1 }, `cannot read the policy: ${why}`) };
  }
}

function report(ds: readonly Diagnostic[], format: FormatName, color: boolean, write: (s: string) => void): void {
  if (ds.length > 0 || format === 'json') write(FORMATS[format](ds, color));
}

async function compileCommand(path: string, values: Values, format: FormatName, io: IO): Promise<number> {
  const src = await readPolicy(path, values, io);
  const color = io.colorStderr && !values['no-color'];
  if (src.problem) {
    report([src.problem], format, color, io.stderr);
    return EXIT_USAGE;
  }
  const result = compile(src.text!, src.file, basename(src.file));
  report(result.diagnostics, format, color, io.stderr);
  if (!result.artifacts) return EXIT_POLICY;
  const outDir = values['out-dir'] ?? '.';
  try {
    await writeAllAtomic(outDir, result.artifacts);
    const removed = await removeStale(outDir, OPTIONAL_OUTPUTS, result.artifacts.map((a) => a.file));
    for (const r of removed) io.stderr(`ipfence: removed ${outDir}/${r} (the policy no longer produces it)\n`);
  } catch (e) {
    report([diag('io-write', { file: outDir, line: 1, col: 1 }, `cannot write the output files: ${(e as Error).message}`)], format, color, io.stderr);
    return EXIT_USAGE;
  }
  if (values.print) for (const a of result.artifacts) io.stdout(`==> ${outDir}/${a.file} <==\n${a.content}`);
  io.stderr(`ipfence: wrote ${result.artifacts.map((a) => `${outDir}/${a.file}`).join(', ')}\n`);
  return EXIT_OK;
}

async function checkCommand(paths: readonly string[], values: Values, format: FormatName, io: IO): Promise<number> {
  const all: Diagnostic[] = [];
  let ioFailed = false;
  for (const path of paths) {
    const src = await readPolicy(path, values, io);
    if (src.problem) {
      all.push(src.problem);
      ioFailed = true;
      continue;
    }
    all.push(...compile(src.text!, src.file, basename(src.file)).diagnostics);
  }
  all.sort(compareDiagnostics);
  report(all, format, io.colorStdout && !values['no-color'], io.stdout);
  return ioFailed ? EXIT_USAGE : hasErrors(all) ? EXIT_POLICY : EXIT_OK;
}

async function verifyCommand(path: string, values: Values, format: FormatName, io: IO): Promise<number> {
  const lab = (io.kernelLab ?? kernelLab)();
  if (!lab.ok) {
    io.stderr(`ipfence: verify cannot run here: ${lab.why}. It loads the rules into a throwaway network namespace; run it as root (sudo) on a machine with iptables and iproute2.\n`);
    return EXIT_USAGE;
  }
  const src = await readPolicy(path, values, io);
  const color = io.colorStdout && !values['no-color'];
  if (src.problem) {
    report([src.problem], format, color, io.stdout);
    return EXIT_USAGE;
  }
  const result = compile(src.text!, src.file, basename(src.file));
  if (!result.artifacts) {
    report(result.diagnostics, format, color, io.stdout);
    return EXIT_POLICY;
  }
  const refused = await verifyArtifacts(result.artifacts, lab.backends, src.file);
  const all = [...result.diagnostics, ...refused].sort(compareDiagnostics);
  report(all, format, color, io.stdout);
  if (!hasErrors(all)) io.stderr(`ipfence: the kernel accepted rules.v4 and rules.v6 on the ${lab.backends.join(' and ')} back end${lab.backends.length > 1 ? 's' : ''}\n`);
  return hasErrors(all) ? EXIT_POLICY : EXIT_OK;
}
