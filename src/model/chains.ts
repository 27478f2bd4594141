import type { TableName } from './ir.js';

export const BUILTIN_CHAINS: Readonly<Record<TableName, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};
/**
 * The tables a full ruleset owns, all of them in every file: a restore replaces only the tables its
 * file names, so a table left out would keep an earlier policy's rules (a redirect, a mark).
 */
export const TABLE_ORDER: readonly TableName[] = ['filter', 'nat', 'mangle', 'raw'];

/**
 * Each built-in chain's rules live in a chain of ours that the built-in chain jumps to: in full mode
 * the file holds the jump, in coexist mode apply.sh adds it. Either way an apply of the other mode
 * finds nothing of ours in the built-in chains but that jump.
 */
export const hookChain = (builtin: string): string => `IPFENCE-${builtin}`;
/** In coexist mode, a chain's default verdict (its `tail`): jumped to last, after other tools' rules. */
export const defaultChain = (builtin: string): string => `IPFENCE-${builtin}-DEFAULT`;
/** Where Docker's user chain is hooked: DOCKER-USER runs in FORWARD. */
export const DOCKER_CHAIN = 'IPFENCE-DOCKER';
