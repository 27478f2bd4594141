import type { Chain, Family, IR, Table } from '../../../model/ir.js';

export type { Guard } from '../../backend.js';

/** A chain with the family and table it is emitted in. */
export interface EmittedChain {
  readonly chain: Chain;
  readonly table: Table;
  readonly family: Family;
}

/** Every chain of the IR, in the order the files hold them. */
export const emittedChains = (ir: IR): EmittedChain[] => ir.rulesets.flatMap((rs) => rs.tables.flatMap((table) => table.chains.map((chain) => ({ chain, table, family: rs.family }))));
