import { execFile } from 'node:child_process';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { diag, formatLocation, hasErrors, type Diagnostic } from '../diagnostics/diagnostic.js';
import { visible } from '../diagnostics/visible.js';
import { familyRecord } from '../model/family.js';
import type { Direction, Family, IR } from '../model/ir.js';
import { describeBox, descriptionText } from '../analysis/describe.js';
import { changedPackets, DiffTooLarge, type Change } from '../analysis/diff.js';
import { assumedPrimary, primaryClause } from '../analysis/explain.js';
import type { IntervalSet } from '../values/intervals.js';
import { modelsOf, WalkTooLarge } from '../packet/path.js';
import { DIM, everything } from '../packet/space.js';
import { compile } from '../pipeline.js';
import { EXIT_OK, EXIT_POLICY, EXIT_USAGE, type IO } from './io.js';
import { UsageError, type Options } from './options.js';
import { escapeData, escapeProperty } from './formatters/github.js';
import { CELL_ITEMS, markdownCell as cell, report, unreadable } from './output.js';
import { utf8 } from './read.js';
import { hasInclude, includesOf, readPolicy } from './read-policy.js';

/** One readable line of a diff: a change of verdict for some traffic, in one or both families. */
export interface DiffRow {
  readonly change: string;
  readonly was: string;
  readonly direction: Direction;
  readonly traffic: string;
  readonly families: readonly Family[];
  /** Where the rule that now decides it is (or, for a default policy, the rule that did). */
  readonly location?: { readonly file: string; readonly line: number; readonly col: number };
}

const NOW = { accept: 'now allowed', drop: 'now dropped', reject: 'now rejected' } as const;
const WAS = { accept: 'allowed', drop: 'dropped', reject: 'rejected' } as const;
const DIRECTION = { in: 'to this host', out: 'from this host', forward: 'forwarded' } as const;

/**
 * Changes as rows, the families' twins joined ("IPv4 and IPv6"), in a stable order. `after`: the
 * new policy, whose `host.addresses` say what an interface's primary address can be now. `limit`:
 * how many items a list of the traffic says before it counts the rest (json says each).
 */
export function diffRows(changes: readonly Change[], after?: IR, limit = Infinity): DiffRow[] {
  const primaries = new Map<Family, IntervalSet>((after ? modelsOf(after) : []).map((m) => [m.family, m.primaries]));
  const rows = new Map<string, { row: DiffRow; families: Family[] }>();
  for (const c of changes) {
    const text = (items: number): string => `${descriptionText(describeBox(c.family, c.box, undefined, items))}${assumed(c, primaries.get(c.family))}`;
    const all = text(Infinity);
    const traffic = limit === Infinity ? all : text(limit);
    // Joined by what they say in full: two rows that read alike only where the rest is counted are two.
    const key = `${c.direction} ${c.before} ${c.after} ${all}`;
    const hit = rows.get(key);
    if (hit) {
      if (!hit.families.includes(c.family)) hit.families.push(c.family);
      continue;
    }
    const loc = c.rule && c.rule.origin.path.length > 0 ? c.rule.origin.loc : undefined;
    rows.set(key, { row: { change: NOW[c.after], was: WAS[c.before], direction: c.direction, traffic, families: [], ...(loc ? { location: { file: loc.file, line: loc.line, col: loc.col } } : {}) }, families: [c.family] });
  }
  return [...rows.values()].map(({ row, families }) => ({ ...row, families }));
}

/**
 * The change's assumption about the incoming interface's primary address, where a redirect in
 * PREROUTING sent the connection there and a rule after it looks at the destination (as explain's
 * cases): without it, one port's rows would read "now rejected" and "now allowed".
 */
function assumed(c: Change, primaries: IntervalSet | undefined): string {
  const primary = assumedPrimary(c.family, c.box, primaries ?? everything(c.family)[DIM.primary]);
  return primary === undefined ? '' : ` if ${primaryClause(describeBox(c.family, c.box).in, primary)}`;
}

const familiesText = (fs: readonly Family[]): string => fs.map((f) => familyRecord(f).label).join(' and ');
const rowText = (r: DiffRow): string => `${r.change}: ${r.traffic}, ${DIRECTION[r.direction]}, ${familiesText(r.families)} (was ${r.was})${r.location ? ` at ${formatLocation(r.location)}` : ''}`;

function formatDiff(rows: readonly DiffRow[], format: string, title: string): string {
  if (format === 'json') return `${JSON.stringify(rows, null, 2)}\n`;
  if (format === 'markdown') {
    if (rows.length === 0) return `### ipfence diff: ${cell(title)}\n\nNo packet changes verdict.\n`;
    const lines = [`### ipfence diff: ${cell(title)}`, '', `${rows.length} change${rows.length > 1 ? 's' : ''} of verdict:`, '', '| change | traffic | direction | family | was | rule |', '|---|---|---|---|---|---|'];
    for (const r of rows) lines.push(`| ${r.change} | ${cell(r.traffic)} | ${DIRECTION[r.direction]} | ${familiesText(r.families)} | ${r.was} | ${r.location ? cell(formatLocation(r.location)) : 'default policy'} |`);
    return `${lines.join('\n')}\n`;
  }
  if (format === 'github') {
    // Workflow commands: one notice per change, at the rule that now decides it.
    return rows.map((r) => `::notice ${r.location ? `file=${escapeProperty(visible(r.location.file))},line=${r.location.line},col=${r.location.col},` : ''}title=ipfence diff::${escapeData(visible(rowText(r)))}\n`).join('');
  }
  if (rows.length === 0) return 'no packet changes verdict\n';
  return `${rows.map((r) => visible(rowText(r))).join('\n')}\n`;
}

const DIFF_FORMATS = ['stylish', 'markdown', 'json', 'github'];
/** A git revision as `git show` takes it, and nothing it could read as an option. */
const REV = /^[A-Za-z0-9._/~^@{}-]+$/;

/**
 * `ipfence diff OLD NEW`, or `ipfence diff --base REV POLICY` (the policy as committed at REV,
 * read with `git show`): the packets whose verdict changes, as a few exact rows. Exit 0 with or
 * without changes (it describes, it does not judge), unless --exit-code: then 1 when some packet
 * changes verdict; 1 when either policy has errors.
 */
export async function diffCommand(files: readonly string[], o: Options, io: IO): Promise<number> {
  const format = o.values.format ?? 'stylish';
  if (!DIFF_FORMATS.includes(format)) throw new UsageError(`diff prints ${DIFF_FORMATS.join(', ')}, not ${format}`);
  const base = o.values.base;
  if (base !== undefined && (files.length !== 1 || !REV.test(base) || base.startsWith('-'))) throw new UsageError(files.length !== 1 ? 'diff --base REV takes one policy file' : `--base takes a git revision, not '${base}'`);
  if (base === undefined && files.length !== 2) throw new UsageError('diff takes two policy files (OLD NEW), or --base REV and one');
  const problems: Diagnostic[] = [];
  const load = async (text: string | undefined, file: string, committed = false): Promise<IR | undefined> => {
    if (text === undefined) return undefined;
    if (committed && hasInclude(text, file)) {
      // Its includes as committed would have to be read from git too; those on disk are another policy.
      problems.push(diag('include-invalid', { file, line: 1, col: 1 }, 'diff --base does not read the includes as committed yet; compare two checked-out policies: ipfence diff OLD NEW'));
      return undefined;
    }
    const { includes, identity } = await includesOf(file, text, undefined, o, io);
    const r = compile(text, file, basename(file), { severity: o.severity, emit: false, includes, identity });
    if (!r.ir || hasErrors(r.diagnostics)) problems.push(...r.diagnostics.filter((d) => d.severity === 'error'));
    return r.ir;
  };
  const newFile = files[files.length - 1]!;
  const oldFile = base !== undefined ? `${base}:${newFile}` : files[0]!;
  const oldText = base !== undefined ? await committed(base, newFile, problems) : await text(oldFile, o, io, problems);
  const newText = await text(newFile, o, io, problems);
  if (problems.length > 0) return done(problems, o, io, EXIT_USAGE);
  const before = await load(oldText, oldFile, base !== undefined);
  const after = await load(newText, newFile);
  if (problems.length > 0 || !before || !after) return done(problems, o, io, unreadable(problems) ? EXIT_USAGE : EXIT_POLICY);
  let changes: Change[];
  try {
    changes = changedPackets(before, after);
  } catch (e) {
    if (!(e instanceof WalkTooLarge) && !(e instanceof DiffTooLarge)) throw e;
    // A bound, not a guess: what went over, and two ways on.
    const what = e instanceof WalkTooLarge ? `${e.message} (a changed default policy touches every packet of a long chain)` : e.message;
    const how = `diff the change in smaller steps, or compare the compiled files (ipfence compile each into its own --out-dir, then diff rules.v4 and rules.v6)`;
    return done([diag('diff-too-large', { file: newFile, line: 1, col: 1 }, `diff cannot follow this change exactly: ${what}; ${how}`)], o, io, EXIT_USAGE);
  }
  const rows = diffRows(changes, after, format === 'json' ? Infinity : CELL_ITEMS);
  io.stdout(formatDiff(rows, format, `${oldFile} → ${newFile}`));
  // --exit-code: as git diff's, so a CI step can ask for review when the firewall's decisions change.
  return o.values['exit-code'] && rows.length > 0 ? EXIT_POLICY : EXIT_OK;
}

function done(problems: readonly Diagnostic[], o: Options, io: IO, exit: number): number {
  report(problems, o.format === 'json' || o.format === 'github' ? o.format : 'stylish', io.colorStdout && !o.values['no-color'], io.stdout);
  return exit;
}

async function text(path: string, o: Options, io: IO, problems: Diagnostic[]): Promise<string | undefined> {
  const src = await readPolicy(path, o, io, false);
  if (src.problem) problems.push(src.problem);
  return src.text;
}

/** The policy as committed at `rev`; the path is taken relative to the working directory, as git's ./ does. */
async function committed(rev: string, path: string, problems: Diagnostic[]): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)('git', ['show', `${rev}:./${path.replace(/^\.\//, '')}`], { encoding: 'buffer', maxBuffer: 64 << 20 });
    return utf8(stdout);
  } catch (e) {
    const why = (e as { stderr?: Buffer }).stderr?.toString('utf8').trim().split('\n')[0] ?? (e as Error).message;
    problems.push(diag('io-read', { file: path, line: 1, col: 1 }, `cannot read ${path} as of ${rev}: ${visible(why)}`));
    return undefined;
  }
}
