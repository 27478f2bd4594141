import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isSuppressible, type Level } from '../check/config.js';
import { SUPPRESSIBLE } from '../diagnostics/codes.js';
import { lazy } from '../util/lazy.js';
import { VERSION } from '../util/package-root.js';
import { FORMATS, type FormatName } from './formatters/index.js';
import { DEFAULT_MAX_BYTES } from './read.js';

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
      --base REV           diff: compare with the policy as committed at git revision REV
      --inventory FILE     compile, check, test: every host of an inventory (groups of shared
                           includes and variables); nothing is written when any host fails
  check expands globs itself ('policies/**/*.yaml'), so quote them.
      --stdin-filename N   the name used for - in messages and headers (default <stdin>)
      --max-bytes N        refuse a policy larger than N bytes (default 32 MiB; no policy is near it)
      --no-color           never colour stylish output (NO_COLOR is honoured too)
  -h, --help, -v, --version

Exit status: 0 clean (warnings allowed unless --strict/--max-warnings), 1 policy errors,
2 usage, I/O or internal error.
`;

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

const GLOB = /[*?[\]{}]/;

/** Quoted globs are expanded here (shells differ on `**`); matches are sorted for stable output. */
export async function expandGlobs(args: readonly string[]): Promise<string[]> {
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
