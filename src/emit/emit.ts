import { createHash } from 'node:crypto';
import { familyRecord } from '../ir/family.js';
import type { Family, IR, Rule, Ruleset } from '../ir/ir.js';
import { lazy } from '../lazy.js';
import { readPackageFile, VERSION } from '../package-root.js';
import { BUILTIN_CHAINS, DOCKER_CHAIN, hookChain } from '../normalize/builder.js';
import { renderChain } from './args.js';
import { displayName } from './quote.js';
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

/**
 * A template, precompiled at build time when templates.generated.ts matches the file's text
 * (only the small Handlebars runtime is loaded then), else compiled from the file.
 */
function template(name: string): Template {
  let t = cache.get(name);
  if (!t) {
    const text = readPackageFile('templates', name);
    const pre = (precompiled as Record<string, { hash: string; spec: unknown } | undefined>)[name];
    if (pre && pre.hash === createHash('sha256').update(text).digest('hex')) {
      t = runtime.template(pre.spec as Parameters<typeof import("handlebars").template>[0]) as Template;
    } else {
      // noEscape: the data is iptables arguments, already quoted by the emitter, not HTML.
      t = lazy.handlebars().compile(text, { noEscape: true, strict: true });
    }
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

export function emit(ir: IR, source: SourceInfo): Artifact[] {
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
  out.push({ file: 'apply.sh', content: template('apply.sh.hbs')({ ...header, ...applyView(ir) }), executable: true });
  if (ir.sets.length > 0) {
    const sets = ir.sets.map((x) => ({
      name: x.name,
      family: x.family === 'ipv4' ? 'inet' : 'inet6',
      // Room for growth without resizing; swap accepts a different size.
      maxelem: Math.max(65536, 2 ** Math.ceil(Math.log2(x.entries.length * 2))),
      entries: x.entries,
    }));
    out.push({ file: 'ipsets', content: template('ipsets.hbs')({ ...header, sets }), executable: false });
  }
  if (ir.routes.length > 0) {
    const routes = ir.routes.map((r) => ({
      comment: r.origin.label,
      ipCommand: familyRecord(r.family).ipCommand,
      mark: r.mark,
      table: r.table,
      route: [r.via ? `via ${r.via}` : '', r.dev ? `dev ${r.dev}` : ''].filter(Boolean).join(' '),
    }));
    out.push({ file: 'routing.sh', content: template('routing.sh.hbs')({ ...header, routes }), executable: true });
  }
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

/** Every jump apply.sh may ever have added, so it can remove the ones a new policy no longer needs. */
const KNOWN_HOOKS = [
  ...(['filter', 'nat', 'mangle'] as const).flatMap((table) => BUILTIN_CHAINS[table].map((chain) => ({ table, chain, target: hookChain(chain) }))),
  { table: 'filter' as const, chain: 'DOCKER-USER', target: DOCKER_CHAIN },
];

function applyView(ir: IR) {
  return {
    ownership: ir.ownership,
    coexist: ir.ownership === 'coexist',
    routing: ir.routes.length > 0,
    sets: ir.sets.map((x) => x.name).join(' '),
    families: ir.rulesets.map((rs) => {
      const rec = familyRecord(rs.family);
      const declared = new Set(rs.tables.flatMap((t) => t.chains.filter((c) => c.policy === null).map((c) => `${t.name}/${c.name}`)));
      const hooks = rs.tables.flatMap((t) => t.chains.flatMap((c) => (c.hookedFrom ?? []).map((from) => ({ table: t.name, chain: from === 'FORWARD' && c.name === DOCKER_CHAIN ? 'DOCKER-USER' : from, target: c.name }))));
      return {
        label: rec.label,
        file: rec.outputFile,
        var: rs.family === 'ipv4' ? 'IPT4' : 'IPT6',
        docker: declared.has(`filter/${DOCKER_CHAIN}`),
        hooks,
        unhooks: KNOWN_HOOKS.filter((h) => !declared.has(`${h.table}/${h.target}`)),
        tables: (['filter', 'nat', 'mangle'] as const).map((name) => ({
          name,
          declared: [...declared].filter((d) => d.startsWith(`${name}/`)).map((d) => d.slice(name.length + 1)).join(' '),
        })),
      };
    }),
  };
}
