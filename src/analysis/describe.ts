import { familyRecord } from '../model/family.js';
import type { Family } from '../model/ir.js';
import { addressText, alignedBlocks } from '../values/addresses.js';
import { intersect, normalizeSet, subtract, type IntervalSet } from '../values/intervals.js';
import { sameValues, SetIds } from '../packet/set-ids.js';
import { DIM, everything, IFNAMSIZ, isFull, NAME_BASE, NO_OWNER, PROTO_NUMBERS, STATES, type Box, copyBox } from '../packet/space.js';

/**
 * A box in words, one field per thing an operator names (null: any). Only what the box
 * restricts is said; a set that is most of its range reads as "any except ...".
 */
export interface Description {
  readonly proto: string | null;
  readonly ports: string | null;
  readonly sports: string | null;
  readonly icmp: string | null;
  readonly from: string | null;
  readonly to: string | null;
  readonly in: string | null;
  readonly out: string | null;
  readonly user: string | null;
  readonly group: string | null;
  readonly state: string | null;
  /** IPv6's hop limit (neighbour discovery's 255, MLD's 1): what a rule's `hop-limit` asks. */
  readonly hoplimit: string | null;
}

/**
 * A box as an operator would say it; with `base`, only how it differs from that box (a test's
 * failing part, said against the test). For a connection not translated by nat, the model keeps
 * the original destination as a dimension of its own: the real connections are those whose
 * destination is their original one, so only those addresses and ports are described.
 */
export function describeBox(family: Family, box: Box, base?: Box, limit: number = Infinity): Description {
  const real = realized(box) ?? box;
  const said = (d: number): boolean => (base === undefined ? isFull(real[d]!, d) : sameValues(real[d]!, base[d]!));
  const set = (d: number, text: (s: IntervalSet) => string): string | null => (said(d) ? null : text(real[d]!));
  const listed = (d: number, text: (s: IntervalSet, f: Family) => readonly string[]) => (s: IntervalSet) => listOrExcept(s, d, family, text, limit);
  return {
    proto: set(DIM.proto, listed(DIM.proto, protoText)),
    ports: set(DIM.dport, listed(DIM.dport, rangeText)),
    sports: set(DIM.sport, listed(DIM.sport, rangeText)),
    icmp: set(DIM.icmp, listed(DIM.icmp, icmpText)),
    from: set(DIM.src, (s) => addressesText(family, s, limit)),
    to: set(DIM.dst, (s) => addressesText(family, s, limit)),
    in: set(DIM.in, listed(DIM.in, ifaceText)),
    out: set(DIM.out, listed(DIM.out, ifaceText)),
    user: set(DIM.uid, listed(DIM.uid, ownerText)),
    group: set(DIM.gid, listed(DIM.gid, ownerText)),
    state: set(DIM.state, (s) => stateText(s)),
    hoplimit: set(DIM.hoplimit, listed(DIM.hoplimit, rangeText)),
  };
}

/**
 * Items as a list, or, past `limit` of them, the first `limit` and how many more: a table cell
 * stays one readable line however many hosts a policy bans (each of thousands of rows listed
 * every banned host, so the table grew with the square of the policy). `item(i)` is asked only
 * for the items said, so the rest are counted, never written.
 */
function listText(count: number, item: (i: number) => string, limit: number = Infinity): string {
  const said = Math.min(count, limit);
  const parts: string[] = [];
  for (let i = 0; i < said; i++) parts.push(item(i));
  return count > said ? `${parts.join(', ')} ... and ${count - said} more (--format json lists each)` : parts.join(', ');
}

/**
 * The part of a box real connections can be in: an untranslated connection's original
 * destination and port are its own. Null when no real connection is in it (the dimensions are
 * independent in the model, so a box can hold only impossible packets).
 */
export function realized(box: Box): Box | null {
  if (box[DIM.dnat].length !== 1 || box[DIM.dnat][0]![1] !== 0n) return box;
  const dst = intersect(box[DIM.dst], box[DIM.origdst]);
  const dport = intersect(box[DIM.dport], box[DIM.origdport]);
  if (dst.length === 0 || dport.length === 0) return null;
  const out = copyBox(box);
  out[DIM.dst] = out[DIM.origdst] = dst;
  out[DIM.dport] = out[DIM.origdport] = dport;
  return out;
}

/** A description as one line: "tcp port 22 from 192.0.2.0/24 in eth0". */
export function descriptionText(d: Description): string {
  const parts: string[] = [];
  parts.push(d.proto ?? 'any protocol');
  if (d.ports !== null) parts.push(`port ${d.ports}`);
  if (d.sports !== null) parts.push(`from port ${d.sports}`);
  if (d.icmp !== null) parts.push(d.icmp);
  if (d.from !== null) parts.push(`from ${d.from}`);
  if (d.to !== null) parts.push(`to ${d.to}`);
  if (d.in !== null) parts.push(`in ${d.in}`);
  if (d.out !== null) parts.push(`out ${d.out}`);
  if (d.user !== null) parts.push(`user ${d.user}`);
  if (d.group !== null) parts.push(`group ${d.group}`);
  if (d.hoplimit !== null) parts.push(`hop limit ${d.hoplimit}`);
  if (d.state !== null) parts.push(`(${d.state})`);
  return parts.join(' ');
}


/** A set listed, or as "any except ..." when its complement is the shorter list. */
function listOrExcept(s: IntervalSet, d: number, family: Family, text: (s: IntervalSet, f: Family) => readonly string[], limit: number): string {
  const rest = subtract(everything(family)[d]!, s);
  const said = (items: readonly string[]) => listText(items.length, (i) => items[i]!, limit);
  return rest.length < s.length ? `any except ${said(text(rest, family))}` : said(text(s, family));
}

const rangeText = (s: IntervalSet): string[] => s.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`));

const PROTO_NAMES = new Map(Object.entries(PROTO_NUMBERS).map(([name, n]) => [BigInt(n), name]));
function protoText(s: IntervalSet, family: Family): string[] {
  const icmp = BigInt(familyRecord(family).icmpNumber);
  const names: string[] = [];
  for (const [lo, hi] of s) {
    for (let p = lo; p <= hi && names.length < 8; p++) names.push(p === icmp ? 'icmp' : PROTO_NAMES.get(p) ?? `proto ${p}`);
    if (hi - lo >= 8n) return rangeText(s).map((r, i) => (i === 0 ? `protocols ${r}` : r));
  }
  return names;
}

function icmpText(s: IntervalSet, family: Family): string[] {
  // The policy's names (MLD's types have none in ip6tables, so their tool name is a number).
  const named = Object.entries(familyRecord(family).icmp);
  const types = named.map(([, t]) => t);
  const typeName = (t: bigint) => named.find(([, x]) => x.code === undefined && BigInt(x.type) === t)?.[0] ?? `type ${t}`;
  const at = (v: bigint) => `type ${v / 256n} code ${v % 256n}`;
  const out: string[] = [];
  for (const [lo, hi] of s) {
    const code = types.find((t) => t.code !== undefined && BigInt(t.type * 256 + t.code) === lo && lo === hi);
    // Whole types, each by its name: a run of them is how a list of ICMP allows ends up.
    if (lo % 256n === 0n && (hi + 1n) % 256n === 0n && hi - lo < 256n * 16n) for (let t = lo / 256n; t <= hi / 256n; t++) out.push(typeName(t));
    else if (code) out.push(code.tool);
    else out.push(lo === hi ? at(lo) : `${at(lo)} to ${at(hi)}`);
  }
  return out;
}

/** Addresses as the fewest CIDR blocks, or "any except ..." when that is shorter. */
function addressesText(family: Family, s: IntervalSet, limit: number): string {
  const bits = BigInt(familyRecord(family).bits);
  const text = (blocks: readonly [bigint, number][]): string => {
    // Past the limit, the widest blocks are the ones said (in address order): an allowed /16
    // among thousands of banned hosts is what the reader needs, not the first eight hosts.
    const said = blocks.length <= limit ? blocks : widest(blocks, limit);
    return listText(blocks.length, (i) => addressText(family, ...said[i]!), limit);
  };
  // The rest of the address space is the gaps between the set's intervals, read from the set
  // itself: made as a set of its own, thousands of times per show, they were most of its garbage.
  const top = everything(family)[DIM.src][0]![1];
  const gaps = s.length === 0 ? 1 : s.length - 1 + (s[0]![0] > 0n ? 1 : 0) + (s[s.length - 1]![1] < top ? 1 : 0);
  // Each interval is at least one block: a rest of fewer blocks than the set has intervals is
  // the shorter side, without finding the set's own (the gaps between thousands of bans).
  if (gaps < s.length) {
    const other = gapBlocks(s, top, bits, s.length - 1);
    if (other !== null) return `any except ${text(other)}`;
  }
  // The side of fewer blocks, the set's own on a tie. Neither side is listed further than the
  // other could be shorter: the blocks of most of the address space (each gap between a
  // thousand banned IPv6 hosts is a hundred blocks) are costly to find, and a show says
  // thousands of such sets. Both are tried up to a limit that doubles (each interval is at
  // least one block), so the cost is that of the shorter list.
  for (let limit = Math.max(1, s.length, gaps); ; limit *= 2) {
    const own = blocksOf(s, bits, limit);
    const other = gapBlocks(s, top, bits, own === null ? limit : own.length - 1);
    if (other !== null) return `any except ${text(other)}`;
    if (own !== null) return text(own);
  }
}

/** The fewest CIDR blocks covering exactly what `set` leaves of 0..top, or null when more than `max`. */
function gapBlocks(set: IntervalSet, top: bigint, bits: bigint, max: number): [bigint, number][] | null {
  const out: [bigint, number][] = [];
  const add = (lo: bigint, hi: bigint): boolean => {
    const found = alignedBlocks(lo, hi, bits, max - out.length);
    if (found !== null) out.push(...found);
    return found !== null;
  };
  let from = 0n;
  for (const [lo, hi] of set) {
    if (lo > from && !add(from, lo - 1n)) return null;
    from = hi + 1n;
  }
  return from > top || add(from, top) ? out : null;
}

/** The `n` blocks of the shortest prefixes, the earliest first among equals, in address order. */
function widest(blocks: readonly [bigint, number][], n: number): [bigint, number][] {
  const order = blocks.map((b, i) => i).sort((i, j) => blocks[i]![1] - blocks[j]![1] || i - j);
  return order.slice(0, n).sort((i, j) => i - j).map((i) => blocks[i]!);
}

/** The fewest CIDR blocks covering exactly `set`, or null when more than `max`. */
function blocksOf(set: IntervalSet, bits: bigint, max: number): [bigint, number][] | null {
  const out: [bigint, number][] = [];
  for (const [lo, hi] of set) {
    const found = alignedBlocks(lo, hi, bits, max - out.length);
    if (found === null) return null;
    out.push(...found);
  }
  return out;
}

/**
 * Interface names from their 16-byte values; an interval of every name with one prefix is
 * `prefix+`, and intervals that fill such a block but for a few names or prefixes are `prefix+
 * (except ...)` (what `br-+` less `br-lan` leaves). An interval that is none of these is said by its
 * two ends, which need not be names.
 */
function ifaceText(s: IntervalSet): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    const [lo, hi] = s[i]!;
    if (lo === hi) {
      out.push(lo === 0n ? '(none)' : nameOf(lo, IFNAMSIZ));
      i++;
      continue;
    }
    const block = prefixBlock(lo, hi);
    if (block !== undefined) {
      out.push(`${nameOf(lo, block)}+`);
      i++;
      continue;
    }
    const within = exceptText(s, i);
    if (within !== undefined) {
      out.push(within.text);
      i = within.next;
      continue;
    }
    out.push(`${nameOf(lo, IFNAMSIZ)} to ${nameOf(hi, IFNAMSIZ)}`);
    i++;
  }
  return out;
}

/** The prefix length (in bytes) whose block of names is exactly [lo, hi], if it is one. */
function prefixBlock(lo: bigint, hi: bigint): number | undefined {
  for (let k = 0; k < IFNAMSIZ; k++) {
    const span = 1n << BigInt(8 * (IFNAMSIZ - k));
    if (lo % span === 0n && hi === lo + span - 1n) return k;
  }
  return undefined;
}

/** At most this many names or prefixes left out of a block are said as its exceptions. */
const MAX_EXCEPTED = 8;

/**
 * `prefix+ (except a, b)` for the intervals from `s[i]` on that lie in the smallest block of one
 * prefix holding `s[i]`, when what they leave of it is a few names or prefixes.
 */
function exceptText(s: IntervalSet, i: number): { text: string; next: number } | undefined {
  const [lo, hi] = s[i]!;
  for (let k = IFNAMSIZ - 1; k >= 1; k--) {
    const span = 1n << BigInt(8 * (IFNAMSIZ - k));
    const base = lo - (lo % span);
    if (hi > base + span - 1n) continue;
    const end = base + span - 1n;
    let next = i;
    const gaps: string[] = [];
    let at = base;
    for (; next < s.length && s[next]![1] <= end; next++) {
      const [a, b] = s[next]!;
      if (a > at) gaps.push(gapText(at, a - 1n) ?? '');
      at = b + 1n;
    }
    if (at <= end) gaps.push(gapText(at, end) ?? '');
    if (gaps.length === 0 || gaps.length > MAX_EXCEPTED || gaps.includes('')) return undefined;
    return { text: `${nameOf(base, k)}+ (except ${gaps.join(', ')})`, next };
  }
  return undefined;
}

const gapText = (a: bigint, b: bigint): string | undefined => {
  if (a === b) return nameOf(a, IFNAMSIZ);
  const k = prefixBlock(a, b);
  return k === undefined ? undefined : `${nameOf(a, k)}+`;
};

/** An interface name from its value: its first `bytes` bytes, without the NUL padding. */
export function nameOf(v: bigint, bytes: number): string {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) out.push(Number((v >> BigInt(8 * (IFNAMSIZ - 1 - i))) & 0xffn));
  return Buffer.from(out.filter((b) => b !== 0)).toString('utf8');
}

/** Ids as numbers and ranges, names from their bytes, "no local socket" for packets from elsewhere. */
function ownerText(s: IntervalSet): string[] {
  const out: string[] = [];
  for (const [lo, hi] of s) {
    if (lo === NO_OWNER && hi === NO_OWNER) out.push('(no local socket)');
    else if (lo < NAME_BASE) out.push(lo === hi ? `${lo}` : `${lo}-${hi < NAME_BASE ? hi : NAME_BASE - 1n}`);
    else if (lo === hi) out.push(ownerName(lo));
    else out.push('other names');
  }
  return out;
}

/** A user or group name from its value (above every id). */
export function ownerName(v: bigint): string {
  const bytes: number[] = [];
  for (let x = v - NAME_BASE; x > 1n; x >>= 8n) bytes.unshift(Number(x & 0xffn));
  return Buffer.from(bytes).toString('utf8');
}

function stateText(s: IntervalSet): string {
  const names: string[] = [];
  for (const [lo, hi] of s) for (let v = lo; v <= hi; v++) names.push(STATES[Number(v)]!);
  if (names.join() === 'NEW') return 'new connections';
  // What the established accept leaves: new connections, and packets conntrack cannot place.
  if (names.join() === 'NEW,INVALID,UNTRACKED') return 'packets outside established connections';
  return `state ${names.join(',')}`;
}

/**
 * Boxes joined where they differ in one dimension only (the pieces a subtraction leaves), among
 * those with the same `tag`: what makes "tcp 22 from A" and "tcp 22 from B" one line. `join`
 * says what else a joined item holds (by default the first item's).
 */
export function joinBoxes<T extends { readonly box: Box }>(items: readonly T[], tag: (t: T) => string, join: (first: T, others: readonly T[]) => T = (first) => first): T[] {
  // Each box's dimensions as numbers once (and again only where a join changed one), and each
  // group's sets united once: keying every box afresh in every pass, and uniting a growing set
  // one member at a time, made a diff of thousands of changes spend seconds here.
  const ids = new SetIds();
  const idOf = (set: IntervalSet): number => ids.id(set);
  type Entry = { readonly item: T; readonly tag: string; readonly texts: readonly number[]; more?: IntervalSet[]; others?: T[] };
  let list: Entry[] = items.map((item) => ({ item, tag: tag(item), texts: item.box.map(idOf) }));
  const dims = items[0]?.box.length ?? 0;
  for (let changed = true; changed; ) {
    changed = false;
    for (let d = 0; d < dims; d++) {
      const byRest = new Map<string, number>();
      const next: Entry[] = [];
      for (const e of list) {
        const key = `${e.tag} ${e.texts.map((t, k) => (k === d ? '' : t)).join(',')}`;
        const at = byRest.get(key);
        if (at === undefined) {
          byRest.set(key, next.length);
          next.push({ item: e.item, tag: e.tag, texts: e.texts });
          continue;
        }
        (next[at]!.more ??= [next[at]!.item.box[d]!]).push(e.item.box[d]!);
        (next[at]!.others ??= []).push(e.item);
        changed = true;
      }
      list = next.map((e) => {
        if (e.more === undefined) return e;
        const box = copyBox(e.item.box);
        box[d] = normalizeSet(e.more.flat());
        const texts = e.texts.slice();
        texts[d] = idOf(box[d]!);
        return { item: { ...join(e.item, e.others!), box }, tag: e.tag, texts };
      });
    }
  }
  return list.map((e) => e.item);
}

/** An untranslated connection's box without the dimensions its own destination implies. */
export function plainConnection(box: Box, family: Family): Box {
  if (box[DIM.dnat].length !== 1 || box[DIM.dnat][0]![1] !== 0n) return box;
  const out = copyBox(box);
  const u = everything(family);
  for (const d of [DIM.dnat, DIM.origdst, DIM.origdport]) out[d] = u[d]!;
  return out;
}
