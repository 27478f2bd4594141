import type { Family } from '../../model/ir.js';
import { BITS, MAX_INDEXED_PORTS, MAX_PORT_BLOCKS, PORT_BLOCK_BITS, PortIndex, PrefixIndex, smallest, union, type Block, type PortKeys } from './candidate-index.js';
import { alignedBlocks } from '../../values/addresses.js';
import { normalizeSet, subtract, type IntervalSet } from '../../values/intervals.js';
import { DIM, subtractBox, type Box, copyBox } from '../space.js';

/** An address set of more blocks than this (a negation, an odd range) is indexed as "any address". */
const MAX_BLOCKS = 8;

/**
 * Earlier entries (rules, or runs of them) by destination port, source block and destination
 * block. Two boxes can only meet where they share a port, a source and a destination, so a box's
 * candidates are the entries filed under one of its ports (or under none), or under a block
 * around or inside one of its source blocks, or the same for destinations: whichever is fewest.
 * An entry may be filed again as it grows (a run of rules merged into one).
 */
export class BoxIndex<E> {
  private readonly entries: E[] = [];
  /** The indexes, built once there are enough entries to be worth it (most chains have a few rules). */
  private indexes: { ports: PortIndex; sources: PrefixIndex<Block>; destinations: PrefixIndex<Block> } | undefined;
  /** Until then, what each entry was filed under. */
  private pending: { readonly i: number; readonly keys: BoxKeys }[] = [];

  constructor(private readonly family: Family) {}

  /** What a box is filed and looked up under; computed once per rule, for both. */
  keysOf(box: Box): BoxKeys {
    return { ports: portKeys(box[DIM.dport]), src: blocks(box[DIM.src], this.family), dst: blocks(box[DIM.dst], this.family) };
  }

  get size(): number {
    return this.entries.length;
  }

  /** Files a new entry; returns its number. */
  add(e: E, keys: BoxKeys): number {
    const i = this.entries.length;
    this.entries.push(e);
    this.file(i, keys);
    return i;
  }

  /** Files the last entry under more keys (a member that joined it). */
  fileLast(keys: BoxKeys): void {
    if (this.entries.length > 0) this.file(this.entries.length - 1, keys);
  }

  private file(i: number, keys: BoxKeys): void {
    if (this.indexes === undefined) {
      this.pending.push({ i, keys });
      if (this.pending.length <= INDEX_FROM) return;
      this.indexes = { ports: new PortIndex(), sources: new PrefixIndex<Block>(hostKey), destinations: new PrefixIndex<Block>(hostKey) };
      for (const p of this.pending) this.fileIndexed(p.i, p.keys);
      this.pending = [];
      return;
    }
    this.fileIndexed(i, keys);
  }

  private fileIndexed(i: number, keys: BoxKeys): void {
    this.indexes!.ports.add(i, keys.ports);
    this.indexes!.sources.add(i, keys.src);
    this.indexes!.destinations.add(i, keys.dst);
  }

  /** A superset of the earlier entries whose box meets a box with these keys, in order. */
  candidates(keys: BoxKeys): readonly E[] {
    const x = this.indexes;
    if (x === undefined) return this.entries;
    const best = smallest([x.ports.lookup(keys.ports), x.sources.lookup(keys.src), x.destinations.lookup(keys.dst)]);
    return best === null ? this.entries : union(best).map((i) => this.entries[i]!);
  }
}

/** Below this many filings, every entry is a candidate: comparing a few boxes costs less than indexing them. */
const INDEX_FROM = 16;

/** A box's ports (null: any, or over too many blocks) and address blocks (null: any). */
export interface BoxKeys {
  readonly ports: PortKeys | null;
  readonly src: Block[] | null;
  readonly dst: Block[] | null;
}

/**
 * A host's key in a Map (one map per family): V8 hashes a BigInt by its low 64 bits, so IPv6
 * hosts of different /64s with the same interface id (`::1`) would all collide. Values that fit a
 * number are keyed as one, others by their text.
 */
const hostKey = (b: Block): string | number => (b.interval[0] <= MAX_NUMBER_KEY ? Number(b.interval[0]) : b.interval[0].toString(36));
const MAX_NUMBER_KEY = BigInt(Number.MAX_SAFE_INTEGER);

/** A port set's keys: its ports when few, and the blocks it touches; null for any port or too many blocks. */
function portKeys(set: IntervalSet): PortKeys | null {
  // One port, the usual rule: no bigint loop.
  if (set.length === 1 && set[0]![0] === set[0]![1]) {
    const p = Number(set[0]![0]);
    return { ports: [p], blocks: [p >> PORT_BLOCK_BITS] };
  }
  let n = 0n;
  const blocks: number[] = [];
  for (const [lo, hi] of set) {
    n += hi - lo + 1n;
    for (let b = Number(lo) >> PORT_BLOCK_BITS; b <= Number(hi) >> PORT_BLOCK_BITS; b++) {
      if (blocks[blocks.length - 1] === b) continue;
      if (blocks.length === MAX_PORT_BLOCKS) return null;
      blocks.push(b);
    }
  }
  if (n > BigInt(MAX_INDEXED_PORTS)) return { ports: null, blocks };
  const ports: number[] = [];
  for (const [lo, hi] of set) for (let p = lo; p <= hi; p++) ports.push(Number(p));
  return { ports, blocks };
}

/** An address set as the fewest CIDR blocks covering exactly it; null for the whole family or too many. */
function blocks(set: IntervalSet, family: Family): Block[] | null {
  const bits = BITS[family];
  // Most rules name no address: the whole family, answered without block arithmetic.
  if (set.length === 1 && set[0]![0] === 0n && set[0]![1] === (1n << bits) - 1n) return null;
  // A single address, the bulk of long lists: its own interval is its block.
  if (set.length === 1 && set[0]![0] === set[0]![1]) return [{ family, prefix: Number(bits), interval: set[0]! }];
  const out: Block[] = [];
  for (const [lo, hi] of set) {
    const found = alignedBlocks(lo, hi, bits, MAX_BLOCKS - out.length);
    if (found === null) return null;
    for (const [first, prefix] of found) out.push({ family, prefix, interval: [first, first + (1n << (bits - BigInt(prefix))) - 1n] });
  }
  return out;
}

/**
 * What of `box` no box of `index` holds, in pieces, each filed in `index` as well. Boxes that
 * hold the one piece left in every dimension but one cut it in that dimension alone: a run of
 * them is subtracted as one set, giving the piece their one-by-one subtraction gives. One by one,
 * a redirect's port asked at any address lost a thousand outbound denies' hosts a copy at a time
 * (a thousand redirects: 2.7 s; two thousand: cubic).
 */
export function outsideOf(index: BoxIndex<Box>, box: Box): Box[] {
  let parts = [box];
  let run: { dim: number; sets: IntervalSet[] } | undefined;
  const flush = (): void => {
    if (run === undefined) return;
    const one = copyBox(parts[0]!);
    one[run.dim] = subtract(one[run.dim]!, run.sets.length === 1 ? run.sets[0]! : normalizeSet(run.sets.flat()));
    parts = one[run.dim]!.length === 0 ? [] : [one];
    run = undefined;
  };
  for (const prev of index.candidates(index.keysOf(box))) {
    const dim = parts.length === 1 ? shortIn(parts[0]!, prev) : undefined;
    if (dim !== undefined && (run === undefined || run.dim === dim)) {
      (run ??= { dim, sets: [] }).sets.push(prev[dim]!);
      continue;
    }
    flush();
    if (parts.length === 0) break;
    parts = parts.flatMap((p) => subtractBox(p, prev));
    if (parts.length === 0) break;
  }
  flush();
  for (const p of parts) index.add(p, index.keysOf(p));
  return parts;
}

/** The one dimension in which `cover` does not hold all of `box`, if there is exactly one. */
function shortIn(box: Box, cover: Box): number | undefined {
  let found: number | undefined;
  for (let d = 0; d < box.length; d++) {
    if (box[d] === cover[d] || subtract(box[d]!, cover[d]!).length === 0) continue;
    if (found !== undefined) return undefined;
    found = d;
  }
  return found;
}
