import type { Chain, Family, Rule, Table } from '../../ir/ir.js';
import type { IR } from '../../ir/ir.js';

export interface RuleSite {
  readonly family: Family;
  readonly table: Table;
  readonly chain: Chain;
  readonly rule: Rule;
}

/** Every rule of the IR with its family, table and chain, in emission order. */
export function* rules(ir: IR): Generator<RuleSite> {
  for (const rs of ir.rulesets) for (const table of rs.tables) for (const chain of table.chains) for (const rule of chain.rules) yield { family: rs.family, table, chain, rule };
}

export const dropsByDefault = (defaults: { readonly [k: string]: unknown } | undefined, key: 'input' | 'forward' | 'output'): boolean =>
  ((defaults?.[key] as string | undefined) ?? 'accept') !== 'accept';
