import { formatLocation } from '../diagnostics/diagnostic.js';
import type { Family } from '../ir/ir.js';
import type { Context } from './context.js';
import type { SectionEntry } from './filter-sections.js';
import type { Cidr } from './addresses.js';
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

/** A port set larger than this is not listed port by port (its rules are candidates for every port). */
const MAX_INDEXED_PORTS = 64;

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

/**
 * The denies seen so far, by index. Two packets can only both match if they share a port, a
 * source and a destination, so a deny that lists ports can only overlap an allow naming one of
 * them, and a deny with source (or destination) networks only an allow with one inside or around
 * one of them; denies with any port (or address) are candidates for every allow. Whichever index
 * gives the fewest candidates is used.
 */
class DenyIndex {
  private readonly anyPort: number[] = [];
  private readonly byPort = new Map<number, number[]>();
  private readonly sources = new AddressIndex();
  private readonly destinations = new AddressIndex();
  /** Denies not yet filed by address: those indexes are built only once ports stop being selective. */
  private readonly addressPending: { readonly i: number; readonly sel: Selector }[] = [];

  add(i: number, sel: Selector): void {
    file(i, portKeys(sel), this.anyPort, this.byPort);
    this.addressPending.push({ i, sel });
  }

  /** A superset of the denies that may overlap `sel`, in ascending order, each once; null for all of them. */
  candidates(sel: Selector): readonly number[] | null {
    let smaller = lookup(portKeys(sel), this.anyPort, this.byPort);
    if (smaller === null || count(smaller) > FEW) {
      for (const { i, sel: deny } of this.addressPending) {
        this.sources.add(i, deny.src);
        this.destinations.add(i, deny.dst);
      }
      this.addressPending.length = 0;
      for (const lists of [this.sources.lookup(sel.src), this.destinations.lookup(sel.dst)]) {
        if (lists !== null && (smaller === null || count(lists) < count(smaller))) smaller = lists;
      }
    }
    if (smaller === null) return null;
    if (smaller.length === 1) return smaller[0]!;
    return [...new Set(smaller.flat())].sort((a, b) => a - b);
  }
}

type ByNetwork = Map<number, Map<bigint, number[]>>;
const BITS: Record<Family, bigint> = { ipv4: 32n, ipv6: 128n };
/** A network's address shifted down to its first `prefix` bits: equal for every address inside it. */
const top = (c: Cidr, prefix: number): bigint => c.interval[0] >> (BITS[c.family] - BigInt(prefix));

/**
 * Deny addresses (sources, or destinations) by network. CIDRs either nest or are disjoint, so a
 * deny's address meets an allow's exactly when one contains the other. The denies around an
 * allow's network are found under each prefix length the denies use; those inside it, under the
 * allow's own prefix length (a level built on the first query for that length, then kept up to
 * date). Single hosts, the bulk of long lists, are keyed by their text: no address arithmetic
 * unless networks are involved.
 */
class AddressIndex {
  private readonly anyAddress: number[] = [];
  private readonly hosts: Record<Family, Map<string, number[]>> = { ipv4: new Map(), ipv6: new Map() };
  /** By family, prefix length and network: the denies with that network (hosts aside). */
  private readonly own: Record<Family, ByNetwork> = { ipv4: new Map(), ipv6: new Map() };
  /** By family and level L: the denies with a network longer than L, under its first L bits. */
  private readonly levels: Record<Family, ByNetwork> = { ipv4: new Map(), ipv6: new Map() };
  private readonly filed: { readonly i: number; readonly c: Cidr }[] = [];

  add(i: number, cidrs: readonly Cidr[] | null): void {
    if (cidrs === null) {
      this.anyAddress.push(i);
      return;
    }
    for (const c of cidrs) {
      this.filed.push({ i, c });
      if (isHost(c)) push(this.hosts[c.family], c.text, i);
      else push(networks(this.own[c.family], c.prefix), top(c, c.prefix), i);
      for (const [level, byTop] of this.levels[c.family]) if (c.prefix > level) push(byTop, top(c, level), i);
    }
  }

  lookup(cidrs: readonly Cidr[] | null): (readonly number[])[] | null {
    if (cidrs === null) return null;
    const lists: (readonly number[])[] = this.anyAddress.length > 0 ? [this.anyAddress] : [];
    for (const a of cidrs) {
      if (isHost(a)) {
        const same = this.hosts[a.family].get(a.text);
        if (same) lists.push(same);
      }
      for (const [prefix, byTop] of this.own[a.family]) {
        if (prefix > a.prefix) continue;
        const around = byTop.get(top(a, prefix));
        if (around) lists.push(around);
      }
      if (isHost(a)) continue;
      const inside = this.level(a.family, a.prefix).get(top(a, a.prefix));
      if (inside) lists.push(inside);
    }
    return lists;
  }

  private level(family: Family, level: number): Map<bigint, number[]> {
    let byTop = this.levels[family].get(level);
    if (byTop === undefined) {
      byTop = new Map();
      for (const { i, c } of this.filed) if (c.family === family && c.prefix > level) push(byTop, top(c, level), i);
      this.levels[family].set(level, byTop);
    }
    return byTop;
  }
}

const isHost = (c: Cidr): boolean => c.prefix === Number(BITS[c.family]);

function networks(byPrefix: ByNetwork, prefix: number): Map<bigint, number[]> {
  let byTop = byPrefix.get(prefix);
  if (byTop === undefined) byPrefix.set(prefix, (byTop = new Map()));
  return byTop;
}

function push<K>(by: Map<K, number[]>, key: K, i: number): void {
  const list = by.get(key);
  if (list === undefined) by.set(key, [i]);
  else if (list[list.length - 1] !== i) list.push(i);
}

/** Port candidates this few are checked as they are, without the address indexes. */
const FEW = 16;

function file<K>(i: number, keys: readonly K[] | null, any: number[], by: Map<K, number[]>): void {
  if (keys === null) {
    any.push(i);
    return;
  }
  for (const k of keys) push(by, k, i);
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
