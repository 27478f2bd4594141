import { formatLocation } from '../diagnostics/diagnostic.js';
import type { Family } from '../ir/ir.js';
import type { Context } from './context.js';
import type { SectionEntry } from './filter-sections.js';
import { overlapFamilies, type Selector } from './selector.js';

type Entry = Pick<SectionEntry, 'sel' | 'verdict'>;

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
 * allow-first moves every allow ahead of every deny. That is only the author's meaning when no
 * allow written after a deny overlaps it; otherwise the deny would silently stop applying to the
 * overlap, so we refuse and name both rules.
 */
export function checkOrder(ctx: Context, section: string, sweep: OrderSweep<SectionEntry>): void {
  for (const { allowEntry: allow, denyEntry: deny, families } of sweep.conflicts) {
    const denyLoc = ctx.loc(deny.path);
    ctx.report(
      'order-conflict',
      allow.path,
      `allow '${allow.label}' overlaps the earlier ${deny.verdict} '${deny.label}' (${formatLocation(denyLoc)}) in ${families.join(' and ')}; ` +
        `${section} puts allows first, which would let this allow override that ${deny.verdict}. ` +
        `Exclude the denied traffic with \`except:\` on this rule, or set \`defaults.order: as-written\``,
      [ctx.related(deny.path, `the ${deny.verdict} '${deny.label}' written first`)],
    );
  }
}

/**
 * Takes a section's entries in order and finds, for each allow, the earliest deny before it that
 * some packet matches both of. Fed while the section compiles, so only denies are kept. The exact
 * test runs only on candidates from an index by port and by source host: comparing every allow
 * with every earlier deny took three minutes on a 50,000-rule policy.
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
    for (const i of this.index.candidates(entry.sel)) {
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

/** A port set larger than this is not listed port by port (its rules are candidates for every port). */
const MAX_INDEXED_PORTS = 64;
const HOST_PREFIX: Record<Family, number> = { ipv4: 32, ipv6: 128 };

/** The ports a selector can match, one by one; null when any port or too many to list. */
function portKeys(sel: Selector): number[] | null {
  if (sel.ports === null) return null;
  let count = 0;
  for (const r of sel.ports) count += r.hi - r.lo + 1;
  if (count > MAX_INDEXED_PORTS) return null;
  const out: number[] = [];
  for (const r of sel.ports) for (let p = r.lo; p <= r.hi; p++) out.push(p);
  return out;
}

/** The source addresses when all are single hosts (canonical text); null otherwise. */
function hostKeys(sel: Selector): string[] | null {
  if (sel.src === null || sel.src.some((c) => c.prefix !== HOST_PREFIX[c.family])) return null;
  return sel.src.map((c) => c.text);
}

/**
 * The denies seen so far, by index. Two packets can only both match if they share a port and a
 * source, so a deny that lists ports (or source hosts) can only overlap an allow naming one of
 * them; denies with any port (or network sources) are candidates for every allow.
 */
class DenyIndex {
  private readonly all: number[] = [];
  private readonly anyPort: number[] = [];
  private readonly byPort = new Map<number, number[]>();
  private readonly anyHost: number[] = [];
  private readonly byHost = new Map<string, number[]>();
  /** Denies not yet filed by host: that index is built only once ports stop being selective. */
  private readonly hostPending: { readonly i: number; readonly sel: Selector }[] = [];

  add(i: number, sel: Selector): void {
    this.all.push(i);
    file(i, portKeys(sel), this.anyPort, this.byPort);
    this.hostPending.push({ i, sel });
  }

  /** A superset of the denies that may overlap `sel`, in ascending order, each once. */
  candidates(sel: Selector): readonly number[] {
    const byPort = lookup(portKeys(sel), this.anyPort, this.byPort);
    let smaller = byPort;
    if (byPort === null || count(byPort) > FEW) {
      for (const { i, sel: deny } of this.hostPending) file(i, hostKeys(deny), this.anyHost, this.byHost);
      this.hostPending.length = 0;
      const byHost = lookup(hostKeys(sel), this.anyHost, this.byHost);
      if (byHost !== null && (byPort === null || count(byHost) < count(byPort))) smaller = byHost;
    }
    if (smaller === null) return this.all;
    if (smaller.length === 1) return smaller[0]!;
    return [...new Set(smaller.flat())].sort((a, b) => a - b);
  }
}

/** Port candidates this few are checked as they are, without the host index. */
const FEW = 16;

function file<K>(i: number, keys: readonly K[] | null, any: number[], by: Map<K, number[]>): void {
  if (keys === null) {
    any.push(i);
    return;
  }
  for (const k of keys) {
    const list = by.get(k);
    if (list === undefined) by.set(k, [i]);
    else if (list[list.length - 1] !== i) list.push(i);
  }
}

function lookup<K>(keys: readonly K[] | null, any: readonly number[], by: ReadonlyMap<K, readonly number[]>): (readonly number[])[] | null {
  if (keys === null) return null;
  const lists = any.length > 0 ? [any] : [];
  for (const k of keys) {
    const list = by.get(k);
    if (list !== undefined) lists.push(list);
  }
  return lists;
}

const count = (lists: readonly (readonly number[])[]): number => lists.reduce((n, l) => n + l.length, 0);
