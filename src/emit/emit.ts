import { createHash } from 'node:crypto';
import { FAMILIES, familyRecord } from '../model/family.js';
import type { Family, IR, Rule, Ruleset } from '../model/ir.js';
import { VERSION } from '../util/package-root.js';
import { DOCKER_CHAIN } from '../model/chains.js';
import { renderChain } from './render.js';
import { displayName, unitText } from './quote.js';
import { applyScript, type ShellVariable } from './apply.js';
import { fallbackRuleset } from './fallback.js';
import { precompiled } from './templates.generated.js';
import handlebarsRuntime from 'handlebars/runtime.js';

/**
 * Enough to run precompiled templates. Bundled (scripts/bundle.mjs), not required at run time:
 * resolving and loading its 21 CommonJS files took about 7 ms of a small policy's 120 ms start-up.
 * Its declaration file declares nothing; its value is the full library without the compiler.
 */
const runtime = handlebarsRuntime as unknown as typeof import('handlebars');

export interface SourceInfo {
  /** The policy's display name (base name of the file, or --stdin-filename). */
  readonly name: string;
  readonly text: string;
  /**
   * The SHA-256 (hex) the headers give: the CLI's is of the policy file's bytes, as `sha256sum`
   * prints it. Without one, that of the text's UTF-8, which is the same for a file in UTF-8.
   */
  readonly hash?: string;
}

export interface Artifact {
  readonly file: string;
  readonly content: string;
  /**
   * The content in pieces that concatenate to it, when it is large (restore files): the writer
   * writes them one by one instead of building the whole text and its UTF-8 copy at once.
   */
  readonly chunks?: readonly string[];
  readonly executable: boolean;
  /** For restore files: the ruleset written, to map a load error at an `-A` line back to its rule (`ruleAt`). */
  readonly ruleset?: Ruleset;
  readonly family?: Family;
}

type Template = (ctx: object) => string;
const cache = new Map<string, Template>();

/** A template of templates/, precompiled by `npm run gen` (only the small Handlebars runtime runs). */
function template(name: string): Template {
  let t = cache.get(name);
  if (!t) {
    const spec = (precompiled as Record<string, unknown>)[name];
    if (spec === undefined) throw new Error(`no precompiled template ${name}: run npm run gen`);
    t = runtime.template(spec as Parameters<typeof import('handlebars').template>[0]) as Template;
    cache.set(name, t);
  }
  return t;
}

/** Where a table's rule lines go in the template's output. NUL is in no string of a ruleset: policies' strings are refused with control characters. */
const RULES_MARK = /\u0000(\d+)\u0000/;

/**
 * A restore file: the template gives its shape, with a mark where each table's rule lines go; the
 * lines themselves are the rule data (code's), and 100,000 of them are too many for a template
 * loop. Its content is concatenated (a cons string pointing at the rendered batches, not a copy).
 */
function restoreFile(rs: Ruleset, context: object): { content: string; chunks: string[] } {
  const blocks: (readonly string[])[] = [];
  const tables = rs.tables.map((t) => {
    const batches = t.chains.flatMap((c) => renderChain(c, rs.family).batches);
    blocks.push(batches);
    return { name: t.name, chains: t.chains.map((c) => ({ name: c.name, policy: c.policy ?? '-' })), rules: batches.length > 0 ? `\u0000${blocks.length - 1}\u0000` : '' };
  });
  const pieces = template('restore.hbs')({ ...context, tables }).split(RULES_MARK);
  if (pieces.length !== 2 * tables.filter((t) => t.rules !== '').length + 1) throw new Error('restore.hbs: the rule marks did not come out once per table with rules');
  const chunks: string[] = [];
  pieces.forEach((piece, i) => {
    if (i % 2 === 0) {
      if (piece !== '') chunks.push(piece);
      return;
    }
    blocks[Number(piece)]!.forEach((batch, k) => {
      if (k > 0) chunks.push('\n');
      chunks.push(batch);
    });
  });
  let content = '';
  for (const c of chunks) content += c;
  return { content, chunks };
}

export interface EmitOptions {
  /** Where the files will live on the host: the systemd units run apply.sh from there. */
  readonly hostDir?: string;
}

const DEFAULT_HOST_DIR = '/etc/ipfence';

/**
 * Every file name emit can write (the rules files are the family records' outputFile): a killed
 * compile's record is acted on only for these names (src/cli/write-atomic.ts), so a committed
 * record cannot make a compile delete or swap a policy or any other file of the checkout.
 */
const FILE = { apply: 'apply.sh', sets: 'ipsets', service: 'ipfence.service', docker: 'ipfence-docker.service' } as const;
export const OUTPUT_FILES: readonly string[] = [...FAMILIES.map((f) => f.outputFile), ...Object.values(FILE)];
/**
 * Outputs a policy may or may not produce; a stale one from an earlier compile is removed
 * (routing.sh is what compiles wrote before apply.sh took over the routing).
 */
export const OPTIONAL_OUTPUTS: readonly string[] = [FILE.sets, FILE.docker, 'routing.sh'];

export function emit(ir: IR, source: SourceInfo, options: EmitOptions = {}): Artifact[] {
  const header = { version: VERSION, source: displayName(source.name), hash: source.hash ?? createHash('sha256').update(source.text).digest('hex') };
  const out: Artifact[] = ir.rulesets.map((rs) => {
    const rec = familyRecord(rs.family);
    const { content, chunks } = restoreFile(rs, { ...header, coexist: ir.ownership === 'coexist', label: rec.label, restoreCommand: rec.restoreCommand, outputFile: rec.outputFile });
    return {
      file: rec.outputFile,
      content,
      chunks,
      executable: false,
      ruleset: rs,
      family: rs.family,
    };
  });
  const generated = `Generated by ipfence ${header.version} from ${header.source} (sha256 ${header.hash}). Do not edit: change the policy and recompile.`;
  out.push({ file: FILE.apply, content: applyScript(generated, applyData(ir, header)), executable: true });
  if (ir.sets.length > 0) {
    const sets = ir.sets.map((x) => ({
      name: x.name,
      family: familyRecord(x.family).ipsetFamily,
      // Room for growth without resizing; swap accepts a different size.
      maxelem: Math.max(65536, 2 ** Math.ceil(Math.log2(x.entries.length * 2))),
      entries: x.entries,
    }));
    out.push({ file: FILE.sets, content: template('ipsets.hbs')({ ...header, sets }), executable: false });
  }
  // The header comment keeps the name as every file shows it; Description expands specifiers.
  const unit = { ...header, description: unitText(header.source), hostDir: options.hostDir ?? DEFAULT_HOST_DIR };
  out.push({ file: FILE.service, content: template('ipfence.service.hbs')(unit), executable: false });
  if (hasDocker(ir)) out.push({ file: FILE.docker, content: template('ipfence-docker.service.hbs')(unit), executable: false });
  return out;
}

/** The `index`th rule of a ruleset in file order (its `index`th `-A` line): asked for when a load fails. */
export function ruleAt(rs: Ruleset, index: number): Rule | undefined {
  let k = index;
  for (const t of rs.tables) {
    for (const c of t.chains) {
      if (k < c.rules.length) return c.rules[k];
      k -= c.rules.length;
    }
  }
  return undefined;
}

/**
 * The tag on the `ip rule` and `ip route` entries apply.sh installs, so that a later apply finds
 * and removes exactly those. No routing daemon uses it: it is neither in the kernel's list
 * (include/uapi/linux/rtnetlink.h) nor in iproute2's rt_protos.
 */
const ROUTING_PROTOCOL = 73;
/** The preference of the first mark's `ip rule`, ahead of the main table's (32766). */
const RULE_PREF_BASE = 10000;

const hasDocker = (ir: IR): boolean => ir.rulesets.some((rs) => rs.tables.some((t) => t.chains.some((c) => c.name === DOCKER_CHAIN)));

/** `ip rule` and `ip route` entries as apply.sh reads them: FAMILY rule PREF MARK TABLE, FAMILY route TABLE TO VIA DEV. */
function routingLines(routes: IR['routes']): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  const prefs = new Map<number, number>();
  for (const r of routes) {
    const { digit } = familyRecord(r.family);
    const rule = `${digit} 0x${r.mark.toString(16)} ${r.table}`;
    if (!seen.has(rule)) {
      seen.add(rule);
      const n = prefs.get(digit) ?? 0;
      prefs.set(digit, n + 1);
      lines.push(`${digit} rule ${RULE_PREF_BASE + n} 0x${r.mark.toString(16)} ${r.table}`);
    }
    if (r.via === undefined && r.dev === undefined) continue;
    const route = `${digit} route ${r.table} ${r.to ?? 'default'} ${r.via ?? '-'} ${r.dev ?? '-'}`;
    if (!seen.has(route)) {
      seen.add(route);
      lines.push(route);
    }
  }
  return lines;
}

/**
 * apply.sh's RUN_FIRST: the run-first patterns (a name, or a prefix and `*`) and DOCKER-USER, one a
 * line. The body compares names with them as text, never as a regular expression: a name's `.`,
 * `+`, `[`, `|` or `\\` is only itself.
 */
export const runFirstList = (runFirst: readonly string[]): string => [...runFirst, 'DOCKER-USER'].join('\n');

/** apply.sh's data: what its body reads, as shell variables (the body's names). */
function applyData(ir: IR, header: { readonly version: string; readonly source: string; readonly hash: string }): ShellVariable[] {
  const coexist = ir.ownership === 'coexist';
  const hooksOf = (rs: Ruleset): string[] =>
    coexist
      ? rs.tables.flatMap((t) =>
          t.chains.flatMap((c) => (c.hookedFrom ?? []).map((from) => `${t.name} ${from === 'FORWARD' && c.name === DOCKER_CHAIN ? 'DOCKER-USER' : from} ${c.name} ${c.hookedAt ?? 'start'}`)),
        )
      : [];
  const byDigit = (d: 4 | 6) => ir.rulesets.find((rs) => familyRecord(rs.family).digit === d);
  const explicit = coexist ? [...new Set(ir.rulesets.flatMap((rs) => rs.tables.flatMap((t) => t.chains.filter((c) => c.policy !== null).map((c) => `${t.name}/${c.name}`))))] : [];
  const list = (xs: readonly string[]): string => xs.join('\n');
  return [
    { name: 'VERSION', value: header.version },
    { name: 'POLICY_SHA256', value: header.hash },
    { name: 'SOURCE', value: header.source },
    { name: 'OWNERSHIP', value: ir.ownership },
    { name: 'EXPLICIT', value: explicit.join(' '), about: "coexist: the built-in chains whose policy this policy sets; the others keep the host's." },
    { name: 'RUN_FIRST', value: runFirstList(ir.runFirst), about: "coexist: jumps to these chains, and rules matching these sets, stay ahead of ipfence's, so that bans keep winning; one a line, a name or a prefix and * (text, not a pattern)." },
    { name: 'RTPROTO', value: String(ROUTING_PROTOCOL), about: 'The tag on the routing entries ipfence installs (ip rule ... protocol N, ip route ... proto N).' },
    { name: 'FILES', value: list(['rules.v4', 'rules.v6', ...(ir.sets.length > 0 ? ['ipsets'] : [])]), about: 'The files loaded here, one a line; each must come from the same compile as this script.' },
    { name: 'HOOKS4', value: list(hooksOf(byDigit(4)!)), about: "coexist: the jumps into ipfence's chains, one a line: TABLE CHAIN TARGET start|end." },
    { name: 'HOOKS6', value: list(hooksOf(byDigit(6)!)) },
    { name: 'ROUTING', value: list(routingLines(ir.routes)), about: 'Policy routing for the marks: FAMILY rule PREF MARK TABLE, FAMILY route TABLE TO VIA DEV (- none).' },
    { name: 'FALLBACK4', value: fallbackRuleset(byDigit(4)!), about: "What --boot loads when neither this policy nor the last that ran here loads: closed but for this policy's SSH (docs/loading.md)." },
    { name: 'FALLBACK6', value: fallbackRuleset(byDigit(6)!) },
  ];
}
