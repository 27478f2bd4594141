import type { Chain, Family, IR, Rule, Table } from '../../ir/ir.js';
import { BUILTIN_CHAINS } from '../../normalize/builder.js';

export interface RuleSite {
  readonly family: Family;
  readonly table: Table;
  readonly chain: Chain;
  readonly rule: Rule;
  /** The built-in chains (hooks) from which this rule can be reached through jumps. */
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

const sites = new WeakMap<IR, readonly RuleSite[]>();

/** Every rule of the IR with its family, table, chain and reaching hooks, in emission order (built once per IR). */
export function rules(ir: IR): readonly RuleSite[] {
  const hit = sites.get(ir);
  if (hit) return hit;
  const out: RuleSite[] = [];
  for (const rs of ir.rulesets) {
    for (const table of rs.tables) {
      const hooks = hooksByChain(table);
      for (const chain of table.chains) {
        const h = hooks.get(chain.name) ?? new Set<string>();
        for (const rule of chain.rules) out.push({ family: rs.family, table, chain, rule, hooks: h });
      }
    }
  }
  sites.set(ir, out);
  return out;
}

export const dropsByDefault = (defaults: { readonly [k: string]: unknown } | undefined, key: 'input' | 'forward' | 'output'): boolean =>
  ((defaults?.[key] as string | undefined) ?? 'accept') !== 'accept';

/** The hooks in `hooks` that are not allowed, as a readable list, or '' when all are allowed. */
export function forbidden(hooks: ReadonlySet<string>, allowed: readonly string[]): string {
  return [...hooks].filter((h) => !allowed.includes(h)).sort().join(', ');
}

/** Findings for a target that the kernel accepts only in one table and some of its hooks. */
export function misplacedTarget(ir: IR, kind: Rule['target']['kind'], tableName: Table['name'], hooks: readonly string[]): { rule: Rule; where: string }[] {
  return rules(ir).flatMap((site) => {
    if (site.rule.target.kind !== kind) return [];
    const where = site.table.name !== tableName ? `the ${site.table.name} table` : forbidden(site.hooks, hooks);
    return where ? [{ rule: site.rule, where }] : [];
  });
}
