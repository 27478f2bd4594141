import { parseArgs } from 'node:util';
import { isSuppressible, type Level } from '../check/config.js';
import { SUPPRESSIBLE } from '../diagnostics/codes.js';
import { VERSION } from '../util/package-root.js';
import { FORMATS, type FormatName } from './formatters/index.js';
import { DEFAULT_MAX_BYTES } from './read.js';

/** Every option's lines of help, by its name in parse(): the general help and each command's. */
const OPTION_HELP = {
  'out-dir': '  -o, --out-dir DIR        where compile writes rules.v4, rules.v6, apply.sh, ...; default .',
  'host-dir': '      --host-dir DIR       where the files will live on the host (ipfence.service runs\n                           DIR/apply.sh at boot); default /etc/ipfence',
  print: '      --print              compile: also print the generated files to standard output',
  format: '  -f, --format F           diagnostics as stylish (default), gcc, json, github or sarif',
  severity: '      --severity CODE=LEVEL  re-grade a check: error, warning or off (repeatable; wins over the policy)',
  'max-warnings': '      --max-warnings N     exit 1 when there are more than N warnings',
  strict: '      --strict             exit 1 on any warning (same as --max-warnings 0)',
  against: '      --against DIR        check: also fail (with a unified diff) when the files in DIR are not\n                           what the policy compiles to',
  base: '      --base REV           diff: compare with the policy as committed at git revision REV',
  'exit-code': '      --exit-code          diff: exit 1 when some packet changes verdict (as git diff --exit-code)',
  inventory: '      --inventory FILE     compile, check, test: every host of an inventory (groups of shared\n                           includes and variables); nothing is written when any host fails',
  'stdin-filename': '      --stdin-filename N   the name used for - in messages and headers (default <stdin>)',
  'max-bytes': '      --max-bytes N        refuse a policy larger than N bytes (default 32 MiB; no policy is near it)',
  'no-color': '      --no-color           never colour stylish output (NO_COLOR is honoured too)',
} as const;
type OptionName = keyof typeof OPTION_HELP;

const COMMON: readonly OptionName[] = ['stdin-filename', 'max-bytes'];
const LINT: readonly OptionName[] = ['severity', 'max-warnings', 'strict', 'no-color'];

/** Each command: its usage lines, what it does, and the options it reads (`ipfence COMMAND --help`). */
export const COMMANDS = {
  compile: {
    usage: ['ipfence compile POLICY [--out-dir DIR] [--print] [--format F]', 'ipfence compile --inventory HOSTS [--out-dir DIR]   every host into DIR/<host>/'],
    about: 'Compiles a policy into rules.v4, rules.v6, apply.sh and ipfence.service (and ipsets or\nipfence-docker.service when the policy needs them); nothing is written when the policy has errors.',
    options: ['out-dir', 'host-dir', 'print', 'format', ...LINT, 'inventory', ...COMMON],
    format: 'diagnostics (on standard error) as stylish (default), gcc, json, github or sarif',
  },
  check: {
    usage: ['ipfence check POLICY... [--format F] [--against DIR]', 'ipfence check --inventory HOSTS   every host'],
    about: "Reports the policies' errors and warnings without writing anything. check expands globs itself\n('policies/**/*.yaml'), so quote them.",
    options: ['format', ...LINT, 'against', 'host-dir', 'inventory', ...COMMON],
  },
  test: {
    usage: ['ipfence test POLICY... [--format F]', 'ipfence test --inventory HOSTS'],
    about: "Runs the policies' intent tests (tests:) on the packet model: each passes or fails.",
    options: ['format', ...LINT, 'inventory', ...COMMON],
  },
  verify: {
    usage: ['ipfence verify POLICY [--format F]'],
    about: 'As root: loads the compiled policy into a throwaway network namespace and sends each intent\ntest as a real connection; the kernel must agree with the model.',
    options: ['format', ...LINT, ...COMMON],
  },
  explain: {
    usage: ["ipfence explain POLICY 'PACKET'"],
    about: "Every table, chain and rule one packet meets, e.g. 'tcp 203.0.113.5:40000 -> 10.0.0.1:22 in eth0'.",
    options: ['format', 'no-color', ...COMMON],
    format: 'text (default) or json',
  },
  diff: {
    usage: ['ipfence diff OLD NEW', 'ipfence diff --base REV POLICY'],
    about: 'The packets whose verdict changes between two policies (or the policy as committed at REV).',
    options: ['format', 'base', 'exit-code', 'severity', 'no-color', ...COMMON],
    format: 'stylish (default), markdown, json or github',
    exit: 'Exit status: 0 whether or not some packet changes verdict, unless --exit-code: then 1 when one\ndoes; 1 when a policy has errors; 2 usage, I/O or internal error.\n',
  },
  show: {
    usage: ['ipfence show POLICY'],
    about: 'What is reachable, per family.',
    options: ['format', 'no-color', ...COMMON],
    format: 'a table (default), markdown or json',
  },
} as const satisfies Record<string, { usage: readonly string[]; about: string; options: readonly OptionName[]; format?: string; exit?: string }>;
export type CommandName = keyof typeof COMMANDS;

export const isCommand = (c: string | undefined): c is CommandName => c !== undefined && Object.hasOwn(COMMANDS, c);

const EXIT = `Exit status: 0 clean (warnings allowed unless --strict/--max-warnings), 1 policy errors,
2 usage, I/O or internal error.
`;

export const HELP = `ipfence ${VERSION}: compile a YAML firewall policy into iptables-restore files

Usage:
  ipfence compile POLICY [--out-dir DIR] [--print] [--format F]
  ipfence compile --inventory HOSTS [--out-dir DIR]   every host into DIR/<host>/
  ipfence check POLICY... [--format F]   (or --inventory HOSTS: every host)
  ipfence verify POLICY [--format F]     (root: loads the result into a throwaway network namespace
                                         and sends each intent test as a real connection)
  ipfence test POLICY... [--format F]    the policies' intent tests (tests:), pass or fail
  ipfence explain POLICY 'PACKET'        every table, chain and rule one packet meets, e.g.
                                         'tcp 203.0.113.5:40000 -> 10.0.0.1:22 in eth0' (--format json)
  ipfence diff OLD NEW | diff --base REV POLICY
                                         the packets whose verdict changes (--format markdown, json, github)
  ipfence show POLICY                    what is reachable, per family (--format markdown, json)
  POLICY may be - for standard input (name it in messages with --stdin-filename NAME).
  ipfence COMMAND --help                 that command's usage and options

Options:
${(['out-dir', 'host-dir', 'print', 'format', 'severity', 'max-warnings', 'strict', 'against', 'base', 'exit-code', 'inventory'] as const).map((n) => OPTION_HELP[n]).join('\n')}
  check expands globs itself ('policies/**/*.yaml'), so quote them.
${(['stdin-filename', 'max-bytes', 'no-color'] as const).map((n) => OPTION_HELP[n]).join('\n')}
  -h, --help, -v, --version

${EXIT}`;

/** `ipfence COMMAND --help`: that command's usage, what it does, and only the options it reads. */
export function commandHelp(name: CommandName): string {
  const c: { usage: readonly string[]; about: string; options: readonly OptionName[]; format?: string; exit?: string } = COMMANDS[name];
  const option = (n: OptionName): string => (n === 'format' && c.format ? `  -f, --format F           ${c.format}` : OPTION_HELP[n]);
  const policy = name === 'diff' ? 'OLD, NEW and POLICY' : 'POLICY';
  return `Usage:\n${c.usage.map((u) => `  ${u}`).join('\n')}\n\n${c.about}\n${policy} may be - for standard input.\n\nOptions:\n${c.options.map(option).join('\n')}\n  -h, --help\n\n${c.exit ?? EXIT}`;
}

/** A mistake on the command line: exit 2 with the message and a pointer to --help. */
export class UsageError extends Error {}

export function parse(argv: readonly string[]) {
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
      base: { type: 'string' },
      'exit-code': { type: 'boolean' },
      inventory: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}

export type Values = ReturnType<typeof parse>['values'];

/** The command line, read and checked once for every command. */
export interface Options {
  readonly values: Values;
  readonly format: FormatName;
  /** Severity per check, from --severity. */
  readonly severity: Readonly<Record<string, Level>>;
  /** --max-warnings and --strict: more warnings than this fail the run. */
  readonly maxWarnings: number;
  /** --max-bytes, else the default: the most a policy or a committed output may be. */
  readonly maxBytes: number;
  /** --host-dir, checked: an absolute path with nothing to quote. */
  readonly hostDir: string | undefined;
}

export function options(values: Values): Options {
  // markdown is a format of the reports (diff, show), not of diagnostics: those commands read
  // --format themselves, and print any diagnostics as stylish.
  const asked = values.format ?? 'stylish';
  if (!Object.hasOwn(FORMATS, asked) && asked !== 'markdown') throw new UsageError(`unknown --format '${asked}'; use ${[...Object.keys(FORMATS), 'markdown'].join(', ')}`);
  const format = (asked === 'markdown' ? 'stylish' : asked) as FormatName;
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
  const maxBytes = values['max-bytes'] ?? String(DEFAULT_MAX_BYTES);
  if (!/^[1-9]\d*$/.test(maxBytes)) throw new UsageError(`--max-bytes takes a whole number of bytes, not '${maxBytes}'`);
  const hostDir = values['host-dir'];
  // It goes into the systemd units' ExecStart.
  if (hostDir !== undefined && !/^\/[A-Za-z0-9._/-]*$/.test(hostDir)) throw new UsageError(`--host-dir takes an absolute path of letters, digits and . _ - / only, not '${hostDir}'`);
  return { values, format, severity, maxWarnings, maxBytes: Number(maxBytes), hostDir: hostDir?.replace(/(.)\/+$/, '$1') };
}
