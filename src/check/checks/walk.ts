import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import type { Chain, Family, IR, Match, Rule, Table, Target } from '../../model/ir.js';
import { renderChain } from '../../emit/args.js';
import { bitsOf, MATCH_BIT, TARGET_BIT } from '../../model/kinds.js';
import { BUILTIN_CHAINS } from '../../model/chains.js';

/** A chain with its family, table and the hooks it runs in: what a check needs around a rule. */
export interface ChainSite {
  readonly family: Family;
  readonly table: Table;
  readonly chain: Chain;
  /** The built-in chains (hooks) from which the chain's rules can be reached through jumps. */
  readonly hooks: ReadonlySet<string>;
}

const JUMP: readonly Target['kind'][] = ['jump'];

/** For each chain of a table, the built-in chains that reach it (a built-in chain reaches itself). */
export function hooksByChain(table: Table, family: Family): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>(table.chains.map((c) => [c.name, new Set<string>()]));
  const byName = new Map(table.chains.map((c) => [c.name, c]));
  // A chain hooked in from outside the file (coexist mode) runs in the hook it is hooked into.
  const entries: [string, string][] = [
    ...BUILTIN_CHAINS[table.name].map((h): [string, string] => [h, h]),
    ...table.chains.flatMap((c) => (c.hookedFrom ?? []).map((h): [string, string] => [h, c.name])),
  ];
  for (const [hook, start] of entries) {
    const seen = new Set<string>();
    const stack = [start];
    while (stack.length > 0) {
      const name = stack.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      out.get(name)?.add(hook);
      const c = byName.get(name);
      if (c) for (const r of rulesTargeting(c, family, JUMP)) if (r.target.kind === 'jump') stack.push(r.target.chain);
    }
  }
  return out;
}

const sites = new WeakMap<IR, readonly ChainSite[]>();

/** Every chain of the IR with its family, table and reaching hooks, in emission order (built once per IR). */
export function chainSites(ir: IR): readonly ChainSite[] {
  const hit = sites.get(ir);
  if (hit) return hit;
  const out: ChainSite[] = [];
  for (const rs of ir.rulesets) {
    for (const table of rs.tables) {
      const hooks = hooksByChain(table, rs.family);
      for (const chain of table.chains) out.push({ family: rs.family, table, chain, hooks: hooks.get(chain.name) ?? new Set<string>() });
    }
  }
  sites.set(ir, out);
  return out;
}

/**
 * The findings of `visit` over every rule, in emission order. A plain loop with nothing allocated
 * per rule: checks run over every rule of 100,000-rule rulesets. `chains` skips whole chains.
 */
export function eachRule(
  ir: IR,
  visit: Visit,
  chains?: (site: ChainSite) => boolean,
): Diagnostic[] {
  return walk(ir, null, visit, chains);
}

/*
 * The walks below read each rule's match kinds and target kind as bits (`kinds`), which the
 * renderer records as it renders the chain (every check run renders every chain): checks about
 * rare kinds read these bits instead of the rules, and skip a chain none of whose rules has them.
 */

/** The rules of a chain whose target is one of `targets`, in order. */
export function rulesTargeting(chain: Chain, family: Family, targets: readonly Target['kind'][]): Rule[] {
  const wanted = bitsOf(targets, TARGET_BIT);
  const { kinds, anyKinds } = renderChain(chain, family);
  const out: Rule[] = [];
  if ((anyKinds & wanted) === 0) return out;
  for (let i = 0; i < kinds.length; i++) if ((kinds[i]! & wanted) !== 0) out.push(chain.rules[i]!);
  return out;
}

/**
 * `eachRule`, over only the rules with a match of one of `kinds`. Most checks are about match
 * kinds that few rules have (interfaces, owners, ICMP types): they need not visit the others.
 */
export function eachRuleWith(ir: IR, kinds: readonly Match['kind'][], visit: Visit, chains?: (site: ChainSite) => boolean): Diagnostic[] {
  return walk(ir, bitsOf(kinds, MATCH_BIT), visit, chains);
}

/** `eachRule`, over only the rules whose target is one of `targets`. */
export function eachRuleTargeting(ir: IR, targets: readonly Target['kind'][], visit: Visit, chains?: (site: ChainSite) => boolean): Diagnostic[] {
  return walk(ir, bitsOf(targets, TARGET_BIT), visit, chains);
}

type Visit = (rule: Rule, site: ChainSite, index: number) => Diagnostic | undefined;

/** The rules of the chains `chains` keeps; with `wanted`, only those with a match or target kind among its bits. */
function walk(
  ir: IR,
  wanted: number | null,
  visit: Visit,
  chains?: (site: ChainSite) => boolean,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const site of chainSites(ir)) {
    if (chains && !chains(site)) continue;
    let kinds: Uint32Array | null = null;
    if (wanted !== null) {
      const rendered = renderChain(site.chain, site.family);
      if ((rendered.anyKinds & wanted) === 0) continue;
      kinds = rendered.kinds;
    }
    const rs = site.chain.rules;
    for (let i = 0; i < rs.length; i++) {
      if (kinds !== null && (kinds[i]! & wanted!) === 0) continue;
      const d = visit(rs[i]!, site, i);
      if (d) out.push(d);
    }
  }
  return out;
}

/** Whether some rule satisfies `test` (stops at the first). */
export function someRule(ir: IR, test: (rule: Rule, site: ChainSite) => boolean): boolean {
  return chainSites(ir).some((site) => site.chain.rules.some((r) => test(r, site)));
}

export const dropsByDefault = (defaults: { readonly [k: string]: unknown } | undefined, key: 'input' | 'forward' | 'output'): boolean =>
  ((defaults?.[key] as string | undefined) ?? 'accept') !== 'accept';

/** The hooks in `hooks` that are not allowed, as a readable list, or '' when all are allowed. */
export function forbidden(hooks: ReadonlySet<string>, allowed: readonly string[]): string {
  return [...hooks].filter((h) => !allowed.includes(h)).sort().join(', ');
}

/** Findings for a target that the kernel accepts only in one table and some of its hooks. */
export function misplacedTarget(ir: IR, kind: Rule['target']['kind'], tableName: Table['name'], hooks: readonly string[], report: (rule: Rule, where: string) => Diagnostic): Diagnostic[] {
  return eachRuleTargeting(ir, [kind], (rule, site) => {
    const where = site.table.name !== tableName ? `the ${site.table.name} table` : forbidden(site.hooks, hooks);
    return where ? report(rule, where) : undefined;
  });
}
