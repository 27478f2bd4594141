import type { Family } from '../model/ir.js';
import type { Cidr } from './addresses.js';
import { count, KeyIndex, MAX_INDEXED_PORTS, PrefixIndex, smallest, union } from './candidate-index.js';
import { overlapFamilies, type Selector } from './overlap.js';

/** What the order check compares: a rule's packets, and whether it accepts. */
interface Entry {
  readonly sel: Selector;
  readonly verdict: 'accept' | 'drop' | 'reject';
}

export interface OrderConflict<E extends Entry = Entry> {
  /** The allow (and its index in the section) that would move ahead of the deny. */
  readonly allow: number;
  readonly allowEntry: E;
  /** The earliest deny written before it that it overlaps. */
  readonly deny: number;
  readonly denyEntry: E;
  readonly families: readonly Family[];
}

/**
 * Takes a section's entries in order and finds, for each allow, the earliest deny before it that
 * some packet matches both of. Fed while the section compiles, so only denies are kept. The exact
 * test runs only on candidates from indexes by port and by address: comparing every
 * allow with every earlier deny took three minutes on a 50,000-rule policy.
 */
export class OrderSweep<E extends Entry> {
  readonly conflicts: OrderConflict<E>[] = [];
  private readonly index = new DenyIndex();
  /** Denies in order; the index refers to them by position here. */
  private readonly denies: { readonly at: number; readonly entry: E }[] = [];
  private seen = 0;

  add(entry: E): void {
    const at = this.seen++;
    if (entry.verdict !== 'accept') {
      this.index.add(this.denies.length, entry.sel);
      this.denies.push({ at, entry });
      return;
    }
    // No narrower candidates: every deny so far, in order.
    for (const i of this.index.candidates(entry.sel) ?? this.denies.keys()) {
      const deny = this.denies[i]!;
      const families = overlapFamilies(deny.entry.sel, entry.sel);
      if (families.length > 0) {
        this.conflicts.push({ allow: at, allowEntry: entry, deny: deny.at, denyEntry: deny.entry, families });
        return;
      }
    }
  }
}

/** The conflicts of a whole section at once (tests compare it with the all-pairs definition). */
export function findConflicts(entries: readonly Entry[]): { allow: number; deny: number; families: readonly Family[] }[] {
  const sweep = new OrderSweep();
  for (const e of entries) sweep.add(e);
  return sweep.conflicts.map(({ allow, deny, families }) => ({ allow, deny, families }));
}

/** The ports a selector can match, one by one; null when any port or too many to list. */
function portKeys(sel: Selector): number[] | null {
  if (sel.ports === null) return null;
  let n = 0;
  for (const r of sel.ports) n += r.hi - r.lo + 1;
  if (n > MAX_INDEXED_PORTS) return null;
  const out: number[] = [];
  for (const r of sel.ports) for (let p = r.lo; p <= r.hi; p++) out.push(p);
  return out;
}

/**
 * The denies seen so far, by index. Two packets can only both match if they share a port, a
 * source and a destination, so a deny that lists ports can only overlap an allow naming one of
 * them, and a deny with source (or destination) networks only an allow with one inside or around
 * one of them; denies with any port (or address) are candidates for every allow. Whichever index
 * gives the fewest candidates is used.
 */
class DenyIndex {
  private readonly ports = new KeyIndex<number>();
  // Hosts by text: no address arithmetic unless networks are involved.
  private readonly sources = new PrefixIndex<Cidr>((c) => c.text);
  private readonly destinations = new PrefixIndex<Cidr>((c) => c.text);
  /** Denies not yet filed by address: those indexes are built only once ports stop being selective. */
  private readonly addressPending: { readonly i: number; readonly sel: Selector }[] = [];

  add(i: number, sel: Selector): void {
    this.ports.add(i, portKeys(sel));
    this.addressPending.push({ i, sel });
  }

  /** A superset of the denies that may overlap `sel`, in ascending order, each once; null for all of them. */
  candidates(sel: Selector): readonly number[] | null {
    let best = this.ports.lookup(portKeys(sel));
    if (best === null || count(best) > FEW) {
      for (const { i, sel: deny } of this.addressPending) {
        this.sources.add(i, deny.src);
        this.destinations.add(i, deny.dst);
      }
      this.addressPending.length = 0;
      best = smallest([best, this.sources.lookup(sel.src), this.destinations.lookup(sel.dst)]);
    }
    return best === null ? null : union(best);
  }
}

/** Port candidates this few are checked as they are, without the address indexes. */
const FEW = 16;
