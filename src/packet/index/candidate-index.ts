import type { Family } from '../../model/ir.js';
import type { Interval } from '../../values/intervals.js';

/**
 * Indexes that answer "which earlier items may overlap this one?" with a superset of the answer,
 * so that overlap analyses (the order check, `shadowed`) test a few candidates instead of every
 * earlier item: comparing all pairs took minutes on 50,000-rule policies. Items are numbered in
 * order; lists hold those numbers ascending, each once (an item filed again as it grows is not
 * listed twice).
 */

/** A network as the index sees it (a Cidr is one). */
export interface Block {
  readonly family: Family;
  readonly prefix: number;
  readonly interval: Interval;
}

type ByNetwork = Map<number, Map<bigint, number[]>>;
/** Address width by family. */
export const BITS: Record<Family, bigint> = { ipv4: 32n, ipv6: 128n };
/** A network's address shifted down to its first `prefix` bits: equal for every address inside it. */
const top = (b: Block, prefix: number): bigint => b.interval[0] >> (BITS[b.family] - BigInt(prefix));
const isHost = (b: Block): boolean => b.prefix === Number(BITS[b.family]);

/**
 * Items by address block (sources, or destinations). CIDRs either nest or are disjoint, so two
 * blocks meet exactly when one contains the other. The items around a queried network are found
 * under each prefix length the items use; those inside it, under the queried prefix length (a
 * level built on the first query for that length, then kept up to date). Single hosts, the bulk
 * of long lists, are keyed by `hostKey`, which can be cheaper than their address (a Cidr's text).
 */
export class PrefixIndex<B extends Block> {
  private readonly anyAddress: number[] = [];
  private readonly hosts: Record<Family, Map<string | number | bigint, number[]>> = { ipv4: new Map(), ipv6: new Map() };
  /** By family, prefix length and network: the items with that network (hosts aside). */
  private readonly own: Record<Family, ByNetwork> = { ipv4: new Map(), ipv6: new Map() };
  /** By family and level L: the items with a network longer than L, under its first L bits. */
  private readonly levels: Record<Family, ByNetwork> = { ipv4: new Map(), ipv6: new Map() };
  private readonly filed: { readonly i: number; readonly b: B }[] = [];

  constructor(private readonly hostKey: (b: B) => string | number | bigint) {}

  /** Files item `i` under its blocks; null means any address. */
  add(i: number, blocks: readonly B[] | null): void {
    if (blocks === null) {
      if (this.anyAddress[this.anyAddress.length - 1] !== i) this.anyAddress.push(i);
      return;
    }
    for (const b of blocks) {
      this.filed.push({ i, b });
      if (isHost(b)) push(this.hosts[b.family], this.hostKey(b), i);
      else push(networks(this.own[b.family], b.prefix), top(b, b.prefix), i);
      for (const [level, byTop] of this.levels[b.family]) if (b.prefix > level) push(byTop, top(b, level), i);
    }
  }

  /** Lists whose union holds every item meeting one of `blocks`; null (no narrowing) for any address. */
  lookup(blocks: readonly B[] | null): (readonly number[])[] | null {
    if (blocks === null) return null;
    const lists: (readonly number[])[] = this.anyAddress.length > 0 ? [this.anyAddress] : [];
    for (const a of blocks) {
      if (isHost(a)) {
        const same = this.hosts[a.family].get(this.hostKey(a));
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
      for (const { i, b } of this.filed) if (b.family === family && b.prefix > level) push(byTop, top(b, level), i);
      this.levels[family].set(level, byTop);
    }
    return byTop;
  }
}

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

/** A port set larger than this is not listed port by port, but by the blocks of ports it touches. */
export const MAX_INDEXED_PORTS = 64;
/** Ports by block of 256 (port >> 8), for sets too large to list; a set over more blocks than this is "any port". */
export const PORT_BLOCK_BITS = 8;
export const MAX_PORT_BLOCKS = 64;

/** A box's ports as the index sees them: listed (a small set), and the blocks they lie in. */
export interface PortKeys {
  /** Every port, for a set of at most MAX_INDEXED_PORTS; null for a larger one (a range). */
  readonly ports: readonly number[] | null;
  /** The blocks the set touches, ascending. */
  readonly blocks: readonly number[];
}

/**
 * Items by destination port: small sets by each port, larger ones (ranges: "1000-2000") by the
 * blocks of 256 ports they touch, so that overlapping ranges are not each other's candidates
 * wherever they lie (indexed as "any port", a thousand ranges compared every pair). A small set
 * meets a large one only in a block of both; two large ones likewise. Null keys mean any port,
 * and such items are candidates for every query.
 */
export class PortIndex {
  private readonly any: number[] = [];
  /** Small sets, by port. */
  private readonly byPort = new Map<number, number[]>();
  /** Large sets, by block. */
  private readonly wideByBlock = new Map<number, number[]>();
  /** Small sets, by block: for a large query. */
  private readonly smallByBlock = new Map<number, number[]>();

  add(i: number, keys: PortKeys | null): void {
    if (keys === null) {
      if (this.any[this.any.length - 1] !== i) this.any.push(i);
      return;
    }
    if (keys.ports === null) {
      for (const b of keys.blocks) push(this.wideByBlock, b, i);
      return;
    }
    for (const p of keys.ports) push(this.byPort, p, i);
    for (const b of keys.blocks) push(this.smallByBlock, b, i);
  }

  lookup(keys: PortKeys | null): (readonly number[])[] | null {
    if (keys === null) return null;
    const lists: (readonly number[])[] = this.any.length > 0 ? [this.any] : [];
    const add = (list: readonly number[] | undefined): void => {
      if (list !== undefined) lists.push(list);
    };
    if (keys.ports !== null) for (const p of keys.ports) add(this.byPort.get(p));
    else for (const b of keys.blocks) add(this.smallByBlock.get(b));
    for (const b of keys.blocks) add(this.wideByBlock.get(b));
    return lists;
  }
}

export const count = (lists: readonly (readonly number[])[]): number => lists.reduce((n, l) => n + l.length, 0);

/** Of several candidate answers (null: no narrowing), the one with the fewest items. */
export function smallest(answers: readonly ((readonly number[])[] | null)[]): (readonly number[])[] | null {
  let best: (readonly number[])[] | null = null;
  for (const lists of answers) if (lists !== null && (best === null || count(lists) < count(best))) best = lists;
  return best;
}

/** The union of candidate lists, ascending, each item once. */
export function union(lists: readonly (readonly number[])[]): readonly number[] {
  if (lists.length === 1) return lists[0]!;
  return [...new Set(lists.flat())].sort((a, b) => a - b);
}
