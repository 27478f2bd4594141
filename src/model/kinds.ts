import type { Match, Target } from './ir.js';

/**
 * Each match kind and each target kind as one bit, so that a rule's kinds are one number: the
 * renderer records them per rule as it renders (it switches on every kind anyway), and the checks
 * about rare kinds read those numbers instead of 100,000 rules' matches.
 */
export const MATCH_BIT: Readonly<Record<Match['kind'], number>> = {
  src: 1 << 0, dst: 1 << 1, iprange: 1 << 2, ctdir: 1 << 3, ctorigdst: 1 << 4, set: 1 << 5, in: 1 << 6, out: 1 << 7, proto: 1 << 8,
  dports: 1 << 9, 'icmp-type': 1 << 10, 'hop-limit': 1 << 11, ctstate: 1 << 12, ctorigdstport: 1 << 13, owner: 1 << 14, limit: 1 << 15, hashlimit: 1 << 16,
};

export const TARGET_BIT: Readonly<Record<Target['kind'], number>> = {
  accept: 1 << 17, drop: 1 << 18, reject: 1 << 19, return: 1 << 20, jump: 1 << 21, log: 1 << 22, redirect: 1 << 23, mark: 1 << 24,
};

/** The bits of `kinds` in `table`, OR-ed. */
export function bitsOf<K extends string>(kinds: readonly K[], table: Readonly<Record<K, number>>): number {
  let out = 0;
  for (let i = 0; i < kinds.length; i++) out |= table[kinds[i]!];
  return out;
}
