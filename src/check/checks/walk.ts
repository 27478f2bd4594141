import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import type { Chain, Family, IR, Rule, Table } from '../../ir/ir.js';
import { BUILTIN_CHAINS } from '../../normalize/builder.js';

/** A chain with its family, table and the hooks it runs in: what a check needs around a rule. */
export interface ChainSite {
  readonly family: Family;
  readonly table: Table;
  readonly chain: Chain;
  /** The built-in chains (hooks) from which the chain's rules can be reached through jumps. */
  readonly hooks: ReadonlySet<string>;
}

/** For each chain of a table, the built-in chains that reach it (a built-in chain reaches itself). */
export function hooksByChain(table: Table): Map<string, Set<string>> {
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
      for (const r of byName.get(name)?.rules ?? []) if (r.target.kind === 'jump') stack.push(r.target.chain);
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
      const hooks = hooksByChain(table);
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
  visit: (rule: Rule, site: ChainSite, index: number) => Diagnostic | undefined,
  chains?: (site: ChainSite) => boolean,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const site of chainSites(ir)) {
    if (chains && !chains(site)) continue;
    const rs = site.chain.rules;
    for (let i = 0; i < rs.length; i++) {
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
  return eachRule(ir, (rule, site) => {
    if (rule.target.kind !== kind) return undefined;
    const where = site.table.name !== tableName ? `the ${site.table.name} table` : forbidden(site.hooks, hooks);
    return where ? report(rule, where) : undefined;
  });
}
