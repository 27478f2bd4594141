import type { Family } from '../model/ir.js';
import { BoxIndex } from '../packet/index/box-index.js';
import { boxesIntersect, type Box } from '../packet/space.js';

/** What the order check compares: a rule's packets in each family, and whether it accepts. */
export interface SweepEntry {
  /** A rule's packets as a union of boxes per family; a family it does not exist in is absent. */
  readonly boxes: Readonly<Partial<Record<Family, readonly Box[]>>>;
  readonly verdict: 'accept' | 'drop' | 'reject';
}

export interface OrderConflict<E extends SweepEntry = SweepEntry> {
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
 * some packet matches both of. Fed while the section compiles, so only denies are kept, indexed
 * by port and address (comparing every allow with every earlier deny took three minutes on a
 * 50,000-rule policy).
 */
export class OrderSweep<E extends SweepEntry> {
  readonly conflicts: OrderConflict<E>[] = [];
  /** The denies so far, with their positions in the section. */
  private readonly denies = new EarliestMeeting<{ readonly at: number; readonly entry: E }>();
  private seen = 0;

  add(entry: E): void {
    const at = this.seen++;
    if (entry.verdict !== 'accept') {
      this.denies.add(entry.boxes, { at, entry });
      return;
    }
    const deny = this.denies.earliest(entry.boxes);
    if (deny === undefined) return;
    const shared = (Object.keys(entry.boxes) as Family[]).filter((f) => meet(deny.entry.boxes[f], entry.boxes[f]));
    this.conflicts.push({ allow: at, allowEntry: entry, deny: deny.at, denyEntry: deny.entry, families: shared });
  }
}

/**
 * Sets of packets added in order (each a union of boxes per family), indexed by port and address
 * per family: which is the earliest that shares a packet with a new one. The order check asks it
 * of each allow against the denies, and the redirects of each redirect against those before it.
 */
export class EarliestMeeting<T> {
  private readonly indexes: Partial<Record<Family, BoxIndex<number>>> = {};
  private readonly items: { readonly boxes: Readonly<Partial<Record<Family, readonly Box[]>>>; readonly value: T }[] = [];

  add(boxes: Readonly<Partial<Record<Family, readonly Box[]>>>, value: T): void {
    for (const f of Object.keys(boxes) as Family[]) {
      const index = (this.indexes[f] ??= new BoxIndex<number>(f));
      for (const box of boxes[f]!) index.add(this.items.length, index.keysOf(box));
    }
    this.items.push({ boxes, value });
  }

  earliest(boxes: Readonly<Partial<Record<Family, readonly Box[]>>>): T | undefined {
    let first = Infinity;
    for (const f of Object.keys(boxes) as Family[]) {
      const index = this.indexes[f];
      if (index === undefined) continue;
      for (const box of boxes[f]!) {
        for (const i of index.candidates(index.keysOf(box))) {
          if (i >= first) break;
          if (meet(this.items[i]!.boxes[f], [box])) {
            first = i;
            break;
          }
        }
      }
    }
    return this.items[first]?.value;
  }
}

/** Whether two unions of boxes share a packet. */
const meet = (a: readonly Box[] | undefined, b: readonly Box[] | undefined): boolean => a !== undefined && b !== undefined && a.some((x) => b.some((y) => boxesIntersect(x, y)));

/** The conflicts of a whole section at once (tests compare it with the all-pairs definition). */
export function findConflicts(entries: readonly SweepEntry[]): { allow: number; deny: number; families: readonly Family[] }[] {
  const sweep = new OrderSweep();
  for (const e of entries) sweep.add(e);
  return sweep.conflicts.map(({ allow, deny, families }) => ({ allow, deny, families }));
}
