import type { Match, Ruleset } from '../model/ir.js';

/** That the packet's owner (a uid or gid) is known on the host by a name: `33` is `www-data`. */
export interface OwnerAssumption {
  readonly by: 'uid' | 'gid';
  readonly id: string;
  readonly name: string;
}

/**
 * What may be assumed about an owner the rules name the other way. The rules match owners by
 * name (`www-data`) or by number (33), and which number a name is is known only on the host, not
 * to the compiler: a packet of uid 33 meets a rule for www-data exactly when www-data is 33 there.
 * For a number, each name the rules match by (the rules of that name then match the number); for
 * a name, each number or part of a range the rules match by (the packet then has that number).
 * None when the rules match owners of this kind only the way the packet names them; "none of
 * these" (the model as it is) is always the other possibility.
 */
export function ownerAssumptions(rs: Ruleset, by: 'uid' | 'gid', owner: string): OwnerAssumption[] {
  const ids = ownersIn(rs, by);
  // A number or a range (a test's `user: 1000-1010`): the names are what may be assumed.
  return /^\d/.test(owner)
    ? ids.filter((id) => !/^\d/.test(id)).map((name) => ({ by, id: owner, name }))
    : regions(ids.filter((id) => /^\d/.test(id))).map((id) => ({ by, id, name: owner }));
}

/** The number an assumption gives the owner (a range's first, which meets the same rules as the rest of it). */
export const asNumber = (a: OwnerAssumption): string => a.id.split('-')[0]!;

/** The owners (uid or gid) the rules of a ruleset match, as written. */
function ownersIn(rs: Ruleset, by: 'uid' | 'gid'): string[] {
  const out = new Set<string>();
  for (const t of rs.tables) for (const c of t.chains) for (const r of c.rules) for (const m of r.matches) if (m.kind === 'owner' && m.by === by) out.add(m.id);
  return [...out];
}

/**
 * The numbers that the rules' ids and ranges cut into parts every number of which meets the
 * same of them, for the parts inside at least one: `1000-1010` and `1005` make 1000-1004, 1005,
 * 1006-1010.
 */
function regions(ids: readonly string[]): string[] {
  const ranges = ids.map((id) => id.split('-').map(Number)).map(([lo, hi]) => [lo!, hi ?? lo!] as const);
  const cuts = [...new Set(ranges.flatMap(([lo, hi]) => [lo, hi + 1]))].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const lo = cuts[i]!;
    const hi = cuts[i + 1]! - 1;
    if (ranges.some(([a, b]) => a <= lo && hi <= b)) out.push(lo === hi ? `${lo}` : `${lo}-${hi}`);
  }
  return out;
}

/** The ruleset as the host reads it when each assumed name is the packet's number (the rules keep their origins). */
export function named(rs: Ruleset, assumed: readonly OwnerAssumption[]): Ruleset {
  const swap = (m: Match): Match => {
    if (m.kind !== 'owner') return m;
    const a = assumed.find((x) => x.by === m.by && x.name === m.id);
    return a === undefined ? m : { ...m, id: asNumber(a) };
  };
  return { ...rs, tables: rs.tables.map((t) => ({ ...t, chains: t.chains.map((c) => ({ ...c, rules: c.rules.map((r) => ({ ...r, matches: r.matches.map(swap) })) })) })) };
}

