import type { Analysis } from '../../check/checks/api.js';
import type { Chain, Family, IR, Table } from '../../model/ir.js';

/**
 * A guard of the output, checked on what is emitted: iptables-restore refuses or silently alters
 * a file past a limit, and some IR no valid policy makes (a loop of jumps) would not load.
 * ipfence's own rules never reach one (names, prefixes and port lists are capped earlier), so a
 * finding is a bug in ipfence; the guard keeps it from reaching a host.
 */
export type Guard = Analysis<{ readonly ir: IR }>;

/** A chain with the family and table it is emitted in. */
export interface EmittedChain {
  readonly chain: Chain;
  readonly table: Table;
  readonly family: Family;
}

/** Every chain of the IR, in the order the files hold them. */
export const emittedChains = (ir: IR): EmittedChain[] => ir.rulesets.flatMap((rs) => rs.tables.flatMap((table) => table.chains.map((chain) => ({ chain, table, family: rs.family }))));
