import { basename } from 'node:path';
import { hasErrors } from '../diagnostics/diagnostic.js';
import { visible } from '../diagnostics/visible.js';
import { familyRecord } from '../model/family.js';
import type { Direction, Family, IR } from '../model/ir.js';
import { describeBox, type Description } from '../analysis/describe.js';
import { assumedPrimary, primaryClause } from '../analysis/explain.js';
import { modelsOf, WalkTooLarge, type RulesetModel } from '../packet/path.js';
import { reachable } from '../analysis/reach.js';
import type { Box } from '../packet/space.js';
import { compile } from '../pipeline.js';
import { EXIT_OK, EXIT_POLICY, EXIT_USAGE, type IO } from './io.js';
import { UsageError, type Options } from './options.js';
import { CELL_ITEMS, markdownCell, report, unreadable } from './output.js';
import { readPolicy, includesOf } from './read-policy.js';

/**
 * `primary`: the addresses this row assumes the incoming interface's primary address to be, when
 * a redirect sent the connection there and a rule after it looks at the destination (as explain's
 * cases); absent otherwise. Without it two rows of one port would read "rejected" and "allowed".
 */
type Row = Description & { readonly verdict: string; readonly primary?: string; readonly moved?: string };
interface Section {
  readonly title: string;
  readonly fallback: string;
  readonly columns: readonly (readonly [string, (d: Row) => string])[];
  readonly rows: readonly Row[];
  /** This host's connections to itself are not all accepted and were too many pieces to list. */
  readonly loopbackUnlisted?: true;
}

const LOOPBACK_UNLISTED = "this host's connections to itself (out lo) are not all accepted, and split into too many pieces to list here: ask explain about one ('tcp 127.0.0.1:40000 -> 127.0.0.1:PORT out lo')";

const VERDICT: readonly [string, (d: Row) => string] = ['verdict', (d) => `${d.verdict}${d.moved === undefined ? '' : ` (${d.moved})`}${d.primary === undefined ? '' : ` if ${primaryClause(d.in, d.primary)}`}`];
const WORD = { accept: 'allowed', drop: 'dropped', reject: 'rejected' } as const;
/** A row whose connections a translation took to another hook's rules (see reach.ts, followedWhole). */
const MOVED = { redirect: 'redirected to this host', dnat: 'port-forwarded' } as const;
const SECTIONS: readonly { direction: Direction; title: string; columns: Section['columns'] }[] = [
  { direction: 'in', title: 'New connections to this host', columns: [VERDICT, ['protocol', (d) => d.proto ?? 'any'], ['port', portOf], ['from', (d) => d.from ?? 'anywhere'], ['to', (d) => d.to ?? 'any'], ['interface', (d) => d.in ?? 'any']] },
  { direction: 'out', title: 'New connections from this host', columns: [VERDICT, ['user', owner], ['protocol', (d) => d.proto ?? 'any'], ['port', portOf], ['to', (d) => d.to ?? 'anywhere'], ['interface', (d) => d.out ?? 'any']] },
  { direction: 'forward', title: 'New connections through this host', columns: [VERDICT, ['protocol', (d) => d.proto ?? 'any'], ['port', portOf], ['from', (d) => d.from ?? 'anywhere'], ['to', (d) => d.to ?? 'anywhere'], ['in', (d) => d.in ?? 'any'], ['out', (d) => (d.moved === MOVED.redirect ? '-' : d.out ?? 'any')]] },
];

/**
 * What a row holds that its section's columns do not say (a source port, where this host's
 * connection comes from, a hop limit): said in a last column, present only when a row has one.
 * Without it a row read wider than it is: neighbour discovery "allowed anywhere" (only with hop
 * limit 255), a notrack rule's replies "allowed to anywhere" (only from its port).
 */
const ALSO: Readonly<Record<Direction, readonly (readonly [keyof Description, string])[]>> = {
  in: [['sports', 'source port'], ['hoplimit', 'hop limit'], ['state', 'state']],
  out: [['from', 'from'], ['sports', 'source port'], ['in', 'in'], ['hoplimit', 'hop limit'], ['state', 'state']],
  forward: [['sports', 'source port'], ['hoplimit', 'hop limit'], ['state', 'state']],
};
const also = (direction: Direction) => (d: Row): string =>
  ALSO[direction]
    .filter(([k]) => d[k] !== null)
    .map(([k, label]) => `${label} ${d[k]}`)
    .join(', ');

function portOf(d: Description): string {
  return d.ports ?? d.icmp ?? (d.proto === null || /tcp|udp|sctp/.test(d.proto) ? 'any' : '-');
}
function owner(d: Description): string {
  const who = (kind: string, v: string) => (v.startsWith('any except ') ? `any ${kind} except ${v.slice('any except '.length)}` : `${kind} ${v}`);
  // Both where a row holds both: "any user except 1001" alone read wider than a row whose group is limited too.
  const said = [d.user !== null ? who('user', d.user) : '', d.group !== null ? who('group', d.group) : ''].filter((x) => x !== '');
  return said.length > 0 ? said.join(', ') : 'anyone';
}

/**
 * `ipfence show POLICY`: what the compiled rules let through, per family, on the packet model:
 * each open port with the sources that reach it, what each user may open, what is forwarded.
 * A table on a terminal, or --format markdown / json.
 */
export async function showCommand(path: string, o: Options, io: IO): Promise<number> {
  const format = o.values.format ?? 'stylish';
  if (!['stylish', 'markdown', 'json'].includes(format)) throw new UsageError(`show prints a table (the default), markdown or json, not ${format}`);
  const src = await readPolicy(path, o, io, false);
  if (src.problem) {
    report([src.problem], 'stylish', false, io.stdout);
    return EXIT_USAGE;
  }
  const { includes, identity } = await includesOf(src, src.text!, undefined, o, io);
  const result = compile(src.text!, src.file, basename(src.file), { severity: o.severity, emit: false, includes, identity });
  if (!result.ir || hasErrors(result.diagnostics)) {
    report(result.diagnostics, 'stylish', io.colorStdout && !o.values['no-color'], io.stdout);
    return unreadable(result.diagnostics) ? EXIT_USAGE : EXIT_POLICY;
  }
  let families: { family: Family; sections: Section[] }[];
  try {
    families = sections(result.ir, format === 'json' ? Infinity : CELL_ITEMS);
  } catch (e) {
    if (!(e instanceof WalkTooLarge)) throw e;
    io.stderr(`ipfence: show cannot list this policy exactly: ${e.message}\n`);
    return EXIT_USAGE;
  }
  if (format === 'json') {
    io.stdout(`${JSON.stringify(families.map((f) => ({ family: f.family, ...Object.fromEntries(f.sections.map((s, i) => [SECTIONS[i]!.direction, { otherwise: s.fallback, ...(s.loopbackUnlisted ? { loopbackUnlisted: true } : {}), rows: s.rows }])) })), null, 2)}\n`);
    return EXIT_OK;
  }
  const out = lineWriter(io);
  for (const f of families) {
    out.put(format === 'markdown' ? `## ${familyRecord(f.family).label}` : familyRecord(f.family).label, '');
    for (const s of f.sections) {
      const head = `${s.title}: ${s.fallback}${s.rows.length > 0 ? ', except' : ''}`;
      out.put(format === 'markdown' ? `### ${head}` : `  ${head}`, '');
      if (s.rows.length > 0) {
        for (const line of table(s, format === 'markdown')) out.put(line);
        out.put('');
      }
      if (s.loopbackUnlisted) out.put(format === 'markdown' ? `Not listed: ${LOOPBACK_UNLISTED}.` : `    (not listed: ${LOOPBACK_UNLISTED})`, '');
    }
  }
  out.end();
  return EXIT_OK;
}

/**
 * The lines joined by newlines, without the blank ones at the end, then one newline: written a
 * piece at a time. A large policy's table is hundreds of megabytes (each row padded to the widest
 * address list), near the longest string the engine can hold: joined whole, a larger one failed.
 */
function lineWriter(io: IO): { put: (...lines: string[]) => void; end: () => void } {
  let chunk = '';
  let started = false;
  let blanks = 0;
  return {
    put: (...lines) => {
      for (const line of lines) {
        if (line === '') {
          blanks++;
          continue;
        }
        chunk += `${started ? '\n' : ''}${'\n'.repeat(blanks)}${line}`;
        started = true;
        blanks = 0;
        if (chunk.length >= CHUNK) {
          io.stdout(chunk);
          chunk = '';
        }
      }
    },
    end: () => io.stdout(`${chunk}\n`),
  };
}
const CHUNK = 1 << 20;

function* table(s: Section, markdown: boolean): Generator<string> {
  const all = s.rows.map((r) => s.columns.map(([, f]) => visible(f(r))));
  // A column no row has anything to say in (the last, `only if`, as a rule) is left out.
  const kept = s.columns.map((_, i) => all.some((r) => r[i] !== ''));
  const cells = all.map((r) => r.filter((_, i) => kept[i]));
  const heads = s.columns.map(([h]) => h).filter((_, i) => kept[i]);
  if (markdown) {
    yield `| ${heads.join(' | ')} |`;
    yield `|${heads.map(() => '---').join('|')}|`;
    for (const r of cells) yield `| ${r.map(markdownCell).join(' | ')} |`;
    return;
  }
  const widths = heads.map((h, i) => cells.reduce((w, r) => Math.max(w, r[i]!.length), h.length));
  const line = (r: readonly string[]) => `    ${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd();
  yield line(heads);
  for (const r of cells) yield line(r);
}

/**
 * The row's assumption about the primary address (where a redirect in PREROUTING sends a
 * connection), when it has one: none when the row holds for every address that can be primary
 * (`host.addresses` when given: with one per family, the kernel has one answer and so has show).
 */
function primaryOf(model: RulesetModel, box: Box, limit: number): { primary?: string } {
  const primary = assumedPrimary(model.family, box, model.primaries, limit);
  return primary === undefined ? {} : { primary };
}

/** Each family's three sections, from the model; each cell lists at most `limit` items. */
function sections(ir: IR, limit: number): { family: Family; sections: Section[] }[] {
  return modelsOf(ir).map((model) => ({
    family: model.family,
    sections: SECTIONS.map((s) => ({
      title: s.title,
      columns: [...s.columns, ['only if', also(s.direction)] as const],
      ...((r) => ({ fallback: WORD[r.fallback], ...(r.loopbackUnlisted ? { loopbackUnlisted: true as const } : {}), rows: r.rows.map((x) => ({ verdict: WORD[x.verdict], ...(x.moved === undefined ? {} : { moved: MOVED[x.moved] }), ...describeBox(model.family, x.box, r.start, limit), ...primaryOf(model, x.box, limit) })) }))(reachable(model, s.direction)),
    })),
  }));
}
