import type { Code } from '../../diagnostics/codes.js';
import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import type { Chain, Family, IR, Table } from '../../model/ir.js';

/**
 * A limit of the output, checked on what is emitted: iptables-restore refuses or silently alters
 * a file past it. ipfence's own rules never reach one (names, prefixes and port lists are capped
 * earlier), so a finding is a bug in ipfence; the guard keeps it from reaching a host.
 */
export interface Guard {
  readonly code: Code;
  /** One paragraph for docs/checks.md: what the limit is and what iptables does past it. */
  readonly docs: string;
  readonly guard: (ir: IR) => Diagnostic[];
}

/** A chain with the family and table it is emitted in. */
export interface EmittedChain {
  readonly chain: Chain;
  readonly table: Table;
  readonly family: Family;
}

/** Every chain of the IR, in the order the files hold them. */
export const emittedChains = (ir: IR): EmittedChain[] => ir.rulesets.flatMap((rs) => rs.tables.flatMap((table) => table.chains.map((chain) => ({ chain, table, family: rs.family }))));
