import { familyRecord } from '../model/family.js';
import type { Family, Match } from '../model/ir.js';
import { cidrTextInterval, readAddress } from '../values/addresses.js';
import { intersect, intersects, normalizeSet, subtract, type Interval, type IntervalSet } from '../values/intervals.js';
import { memo } from '../util/memo.js';

/**
 * The packet model: a set of packets is a union of boxes, one interval set per dimension of what
 * iptables matches here. Every question "which packets does this rule decide" (order conflicts,
 * shadowing, redirect duplicates, a packet's path through the tables) is answered on these boxes.
 * The model is exact for every match ipfence writes except rate limits (a limit only sometimes
 * matches, so such a rule never counts as deciding packets; findings stay sound).
 *
 * Dimensions whose values other dimensions constrain in reality (the original destination of an
 * untranslated connection is its destination) are independent here: a box is then a superset of
 * the packets it stands for, which can only hide a finding, never invent one.
 *
 * `primary` is no field of a packet but of the host it arrives at: the primary address of its
 * incoming interface, which a REDIRECT in nat PREROUTING makes its destination. No rule matches
 * it and only the host knows it, so it is open (any address) until a redirect sets the
 * destination from it; a packet's fate that depends on it then differs across its values, and
 * the entry coordinates keep which value each fate assumed (see `followPath`).
 */
export const DIMS = ['src', 'dst', 'proto', 'dport', 'icmp', 'in', 'out', 'state', 'dnat', 'origdst', 'origdport', 'ctdir', 'uid', 'gid', 'hoplimit', 'sport', 'primary'] as const;
export type Dim = (typeof DIMS)[number];
/** A set of packets: one interval set per dimension, in DIMS's order. */
export type Box = OnePer<typeof DIMS, IntervalSet>;
/** A box being built: a copy whose dimensions may be set (see copyBox). */
export type MutableBox = Writable<typeof DIMS, IntervalSet>;
/** A tuple of V as long as T (a mapped type over a type parameter keeps a tuple a tuple). */
type OnePer<T extends readonly unknown[], V> = { readonly [K in keyof T]: V };
type Writable<T extends readonly unknown[], V> = { -readonly [K in keyof T]: V };
/** The index of each dimension, as a literal type: `box[DIM.src]` is an IntervalSet, never undefined. */
type IndexOfDim = { readonly [I in keyof typeof DIMS as I extends `${number}` ? (typeof DIMS)[I] : never]: I extends `${infer N extends number}` ? N : never };
export const DIM: IndexOfDim = Object.fromEntries(DIMS.map((d, i) => [d, i])) as unknown as IndexOfDim;

/**
 * A box from one interval set per dimension, in DIMS's order: where an array becomes a Box. The
 * operations on boxes work on any number of dimensions (the property tests use three).
 */
export const boxFrom = (sets: readonly IntervalSet[]): Box => sets as unknown as Box;

/** A copy of `box` whose dimensions may be set. */
export const copyBox = (box: Box): MutableBox => box.slice() as unknown as MutableBox;

/** The box of `f` applied to each dimension's set. */
export const mapBox = (box: Box, f: (set: IntervalSet, dim: number) => IntervalSet): Box => box.map(f) as unknown as Box;

const full = (hi: bigint): IntervalSet => [[0n, hi]];
const one = (v: bigint): IntervalSet => [[v, v]];
export const STATES = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED'] as const;
export const PROTO_NUMBERS: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132 };

/**
 * ICMP is type * 256 + code: a name for a whole type is its 256 codes, a name for one code
 * (fragmentation-needed) one point, so the two overlap as they do on the wire.
 */
export function icmpSet(family: Family, toolName: string): IntervalSet | undefined {
  const t = Object.values(familyRecord(family).icmp).find((x) => x.tool === toolName);
  if (t === undefined) return undefined;
  const base = BigInt(t.type) * 256n;
  return t.code === undefined ? [[base, base + 255n]] : one(base + BigInt(t.code));
}

/**
 * An interface name as its 16 bytes (IFNAMSIZ, NUL-padded), big-endian: a name is one point and
 * `eth+` the interval of every name starting with `eth` (`eth` itself included, as in the
 * kernel). Exact for any mix of names and wildcards, with no table of names to build first.
 */
export const IFNAMSIZ = 16;
const IFACE_BITS = BigInt(8 * IFNAMSIZ);
function nameValue(name: string): bigint {
  let v = 0n;
  const bytes = Buffer.from(name, 'utf8');
  for (let i = 0; i < IFNAMSIZ; i++) v = (v << 8n) | BigInt(bytes[i] ?? 0);
  return v;
}
export const ifaceSet: (name: string) => IntervalSet = memo((name) => {
  const prefix = name.endsWith('+') ? name.slice(0, -1) : null;
  if (prefix === null) return one(nameValue(name));
  const lo = nameValue(prefix);
  return [[lo, lo + (1n << BigInt(8 * (IFNAMSIZ - Buffer.byteLength(prefix)))) - 1n]];
});

/**
 * Owners: numeric ids as themselves, names above every id (their UTF-8 bytes after a 1 byte, so
 * that distinct names are distinct values). A name and a number never overlap: which uid a name
 * is is the host's business, not the compiler's.
 */
export const NAME_BASE = 1n << 32n;
const NAME_BYTES = 64;
function ownerSet(id: string): IntervalSet {
  const range = /^(\d+)-(\d+)$/.exec(id);
  if (range) return [[BigInt(range[1]!), BigInt(range[2]!)]];
  if (/^\d+$/.test(id)) return one(BigInt(id));
  let v = 1n;
  for (const b of Buffer.from(id, 'utf8')) v = (v << 8n) | BigInt(b);
  return one(NAME_BASE + v);
}

/** Interval sets are never mutated, so the full ranges are shared by every box. */
const FULL_ADDR: Readonly<Record<Family, IntervalSet>> = { ipv4: full((1n << 32n) - 1n), ipv6: full((1n << 128n) - 1n) };
const FULL_BYTE = full(255n);
const FULL_PORT = full(65535n);
const FULL_IFACE = full((1n << IFACE_BITS) - 1n);
const FULL_STATE = full(BigInt(STATES.length - 1));
const FULL_BIT = full(1n);
const FULL_ID = full(NAME_BASE + (1n << BigInt(8 * (NAME_BYTES + 1))) - 1n);
const UNIVERSE: Readonly<Record<Family, Box>> = {
  ipv4: universe('ipv4'),
  ipv6: universe('ipv6'),
};
function universe(f: Family): Box {
  const u: IntervalSet[] = [];
  const fill: Record<Dim, IntervalSet> = {
    src: FULL_ADDR[f], dst: FULL_ADDR[f], proto: FULL_BYTE, dport: FULL_PORT, icmp: FULL_PORT, in: FULL_IFACE, out: FULL_IFACE,
    state: FULL_STATE, dnat: FULL_BIT, origdst: FULL_ADDR[f], origdport: FULL_PORT, ctdir: FULL_BIT, uid: FULL_ID, gid: FULL_ID, hoplimit: FULL_BYTE, sport: FULL_PORT,
    primary: FULL_ADDR[f],
  };
  for (const d of DIMS) u.push(fill[d]);
  return boxFrom(u);
}
/** Every packet of a family. */
export const everything = (f: Family): Box => UNIVERSE[f];

/** The conntrack states named, as an interval set of the state dimension. */
export const statesOf = (...names: readonly (typeof STATES)[number][]): IntervalSet => normalizeSet(names.map((s) => one(BigInt(STATES.indexOf(s)))[0]!));

/** `box` with its state dimension set to `states` (not intersected: the caller's box may hold others). */
export function withStates(box: Box, states: IntervalSet): Box {
  const b = copyBox(box);
  b[DIM.state] = states;
  return b;
}

/** Every packet of conntrack state NEW: what nat sees (later packets follow what conntrack recorded). */
const NEW_PACKETS: Readonly<Record<Family, Box>> = { ipv4: withStates(UNIVERSE.ipv4, statesOf('NEW')), ipv6: withStates(UNIVERSE.ipv6, statesOf('NEW')) };
export const newPackets = (f: Family): Box => NEW_PACKETS[f];

/** Every new connection: its first packet, in its original direction (no reply's). */
export function newConnections(f: Family): Box {
  const b = copyBox(NEW_PACKETS[f]);
  b[DIM.ctdir] = one(0n);
  return b;
}

const cidrInterval: (text: string) => Interval | null = memo(cidrTextInterval, 200_000);

/** The addresses of an ipset by name, where the caller knows them (the IR's sets). */
export type SetContents = (name: string) => IntervalSet | undefined;

/**
 * The box of a rule's matches. `exact` is false when the rule matches only some of its box's
 * packets (a rate limit, a set whose contents are unknown): it may then be covered, but never
 * counts as covering.
 */
export function boxOf(matches: readonly Match[], family: Family, sets?: SetContents): { box: Box; exact: boolean } {
  const start = UNIVERSE[family];
  const b = copyBox(start);
  const set = (i: number, v: IntervalSet) => {
    // A dimension still at its full range becomes `v` itself: most matches restrict a dimension
    // no other match of the rule touches.
    b[i] = b[i] === start[i] ? intersectFull(v, start[i]!) : intersect(b[i]!, v);
  };
  let exact = true;
  for (const m of matches) {
    switch (m.kind) {
      case 'src':
      case 'dst': {
        const iv = cidrInterval(m.cidr);
        if (iv) set(DIM[m.kind], m.negate ? subtract(FULL_ADDR[family], [iv]) : [iv]);
        else exact = false;
        break;
      }
      case 'iprange': {
        const a = readAddress(m.from);
        const z = readAddress(m.to);
        if (typeof a !== 'string' && typeof z !== 'string') {
          const span: IntervalSet = [[a.interval[0], z.interval[0]]];
          set(DIM[m.dir], m.negate ? subtract(FULL_ADDR[family], span) : span);
        } else exact = false;
        break;
      }
      case 'ctdir':
        set(DIM.ctdir, one(m.dir === 'ORIGINAL' ? 0n : 1n));
        break;
      case 'ctorigdst': {
        const iv = cidrInterval(m.cidr);
        if (iv) set(DIM.origdst, [iv]);
        else exact = false;
        break;
      }
      case 'set': {
        const contents = sets?.(m.name);
        if (contents !== undefined) set(DIM[m.dir], contents);
        else exact = false;
        break;
      }
      case 'in':
      case 'out':
        set(DIM[m.kind], ifaceSet(m.iface));
        break;
      case 'proto':
        set(DIM.proto, one(BigInt(m.proto === 'icmp' ? familyRecord(family).icmpNumber : PROTO_NUMBERS[m.proto]!)));
        break;
      case 'dports':
        set(DIM.proto, one(BigInt(PROTO_NUMBERS[m.proto]!)));
        set(DIM.dport, normalizeSet(m.ports.map((p) => [BigInt(p.lo), BigInt(p.hi)] as Interval)));
        break;
      case 'sports':
        set(DIM.proto, one(BigInt(PROTO_NUMBERS[m.proto]!)));
        set(DIM.sport, normalizeSet(m.ports.map((p) => [BigInt(p.lo), BigInt(p.hi)] as Interval)));
        break;
      case 'icmp-type': {
        const v = icmpSet(family, m.name);
        if (v !== undefined) set(DIM.icmp, v);
        else exact = false;
        break;
      }
      case 'hop-limit':
        set(DIM.hoplimit, one(BigInt(m.eq)));
        break;
      case 'ctstate': {
        const states = m.states.filter((s) => s !== 'DNAT');
        if (states.length > 0) {
          const v = normalizeSet(states.map((s) => one(BigInt(STATES.indexOf(s as (typeof STATES)[number])))[0]!));
          set(DIM.state, m.negate ? subtract(FULL_STATE, v) : v);
        }
        if (m.states.includes('DNAT')) set(DIM.dnat, one(m.negate ? 0n : 1n));
        break;
      }
      case 'ctorigdstport':
        set(DIM.origdport, [[BigInt(m.ports.lo), BigInt(m.ports.hi)]]);
        break;
      case 'owner':
        set(DIM[m.by], ownerSet(m.id));
        break;
      case 'limit':
      case 'hashlimit':
      // What the model does not know may or may not match: never taken as deciding.
      case 'opaque':
        exact = false;
        break;
      default: {
        const never: never = m;
        throw new Error(`unmodelled match ${JSON.stringify(never)}`);
      }
    }
  }
  return { box: b, exact };
}

/** `v` within a full range is itself; otherwise its part inside. */
const intersectFull = (v: IntervalSet, f: IntervalSet): IntervalSet =>
  v.length > 0 && v[0]![0] >= f[0]![0] && v[v.length - 1]![1] <= f[0]![1] ? v : intersect(v, f);

/** Allocation-free: this runs for every candidate pair of a chain. */
export function boxesIntersect(a: Box, b: Box): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !intersects(a[i]!, b[i]!)) return false;
  return true;
}

export function intersectBox(a: Box, b: Box): Box | null {
  const out: IntervalSet[] = new Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const v = a[i] === b[i] ? a[i]! : intersect(a[i]!, b[i]!);
    if (v.length === 0) return null;
    out[i] = v;
  }
  return boxFrom(out);
}

/** a minus b as disjoint boxes (at most one per dimension). */
export function subtractBox(a: Box, b: Box): Box[] {
  if (!boxesIntersect(a, b)) return [a];
  const out: Box[] = [];
  const cur = copyBox(a);
  for (let i = 0; i < cur.length; i++) {
    if (cur[i] === b[i]) continue;
    const outside = subtract(cur[i]!, b[i]!);
    if (outside.length > 0) out.push(mapBox(cur, (d, k) => (k === i ? outside : d)));
    cur[i] = intersect(cur[i]!, b[i]!);
  }
  return out;
}

/** Small, decisive dimensions first: a rule is usually not covered because of its state or interface. */
const PRECHECK_ORDER = (['state', 'dnat', 'ctdir', 'in', 'out', 'proto', 'dport', 'icmp', 'origdport', 'hoplimit', 'uid', 'gid', 'sport', 'src', 'dst', 'origdst', 'primary'] as const).map((d) => DIM[d]);

/**
 * Whether `box` is inside the union of `covers`. Undefined when the work budget runs out (a
 * finding is then not reported rather than guessed).
 */
export function coveredBy(box: Box, covers: readonly Box[], budget = 20_000): boolean | undefined {
  if (covers.length === 0) return false;
  if (hasWitness(box, covers)) return false;
  // One cover holding the whole box (the usual way a rule is dead) decides it without cutting
  // the box by the others first, which could run past the budget.
  for (const c of covers) if (boxWithin(box, c)) return true;
  // Necessary condition, cheap: in every dimension on its own, the covers must span the box.
  for (const d of box.length === DIMS.length ? PRECHECK_ORDER : box.map((_, i) => i)) {
    const union = covers.length === 1 ? covers[0]![d]! : normalizeSet(covers.flatMap((c) => c[d]!));
    if (subtract(box[d]!, union).length > 0) return false;
  }
  let remaining: Box[] = [box];
  for (const c of covers) {
    remaining = remaining.flatMap((r) => subtractBox(r, c));
    if (remaining.length === 0) return true;
    if (remaining.length > budget) return undefined;
  }
  return remaining.length === 0;
}

/** Whether every packet of `a` is in `b`. */
function boxWithin(a: Box, b: Box): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && subtract(a[i]!, b[i]!).length > 0) return false;
  return true;
}

/** Whether a dimension's values are all of its range. */
export function isFull(set: IntervalSet, d: number): boolean {
  const u = UNIVERSE.ipv6[d]!;
  if (set === u || set === UNIVERSE.ipv4[d]) return true;
  return set.length === 1 && set[0]![0] === 0n && (set[0]![1] === u[0]![1] || set[0]![1] === UNIVERSE.ipv4[d]![0]![1]);
}

/** Whether `v` is in `set`: a binary search, allocating nothing (this runs millions of times). */
function contains(set: IntervalSet, v: bigint): boolean {
  let lo = 0;
  let hi = set.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const iv = set[mid]!;
    if (v < iv[0]) hi = mid - 1;
    else if (v > iv[1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/**
 * Looks for one concrete packet of `box` that no cover matches, choosing its value dimension by
 * dimension so as to leave as many covers behind as possible. Finding one proves the box is not
 * covered, without the exact subtraction (which splits boxes across every dimension and is what
 * costs time when wide rules, like the ESTABLISHED and loopback accepts, overlap everything).
 * Not finding one proves nothing: the exact check decides then. It runs for nearly every rule,
 * so the values it tries are counted against the covers, not collected: it was four tenths of
 * everything a 50k compile allocated.
 */
function hasWitness(box: Box, covers: readonly Box[]): boolean {
  if (firstPointOutside(box, covers)) return true;
  if (covers.length > 64) return false;
  let left = covers;
  const order = box.length === DIMS.length ? PRECHECK_ORDER : box.map((_, i) => i);
  for (let o = 0; o < order.length; o++) {
    const d = order[o]!;
    // A dimension no cover restricts cannot leave one behind (most covers restrict one or two).
    let restricted = false;
    for (let c = 0; c < left.length && !restricted; c++) restricted = !isFull(left[c]![d]!, d);
    if (!restricted) continue;
    const dim = box[d]!;
    let best = left.length;
    let bestValue = 0n;
    // The box's own first values, then the values just outside each cover's first and last few
    // intervals: enough to find a gap where there is one near the box.
    const consider = (v: bigint): boolean => {
      const n = coversHolding(left, d, dim, v);
      if (n < best) {
        best = n;
        bestValue = v;
      }
      return best === 0;
    };
    for (let k = 0; k < dim.length && k < 8; k++) if (consider(dim[k]![0])) return true;
    for (let c = 0; c < left.length; c++) {
      const cd = left[c]![d]!;
      for (let k = 0; k < cd.length; k++) {
        if (cd.length > 8 && k === 4) k = cd.length - 4;
        if (consider(cd[k]![0] - 1n) || consider(cd[k]![1] + 1n)) return true;
      }
    }
    if (best < left.length) left = left.filter((c) => contains(c[d]!, bestValue));
  }
  return left.length === 0;
}

/**
 * Whether the box's first packet (its lowest value in every dimension) is in no cover: the
 * common answer (a new connection on an interface other than lo, from a source no ban names),
 * found without trying values dimension by dimension.
 */
function firstPointOutside(box: Box, covers: readonly Box[]): boolean {
  for (let c = 0; c < covers.length; c++) {
    const cover = covers[c]!;
    let inside = true;
    for (let d = 0; d < box.length && inside; d++) inside = cover[d] === box[d] || contains(cover[d]!, box[d]![0]![0]);
    if (inside) return false;
  }
  return true;
}

/** How many of `covers` hold value `v` in dimension d; more than all of them if the box does not. */
function coversHolding(covers: readonly Box[], d: number, dim: IntervalSet, v: bigint): number {
  if (!contains(dim, v)) return Infinity;
  let n = 0;
  for (let c = 0; c < covers.length; c++) if (contains(covers[c]![d]!, v)) n++;
  return n;
}

/** Whether a concrete value lies in a box's dimension (for tests and the path of one packet). */
export const boxHas = (box: readonly IntervalSet[], point: readonly bigint[]): boolean => box.every((d, i) => contains(d, point[i]!));

/** One concrete packet, as the model's point: what explain, tests and the lab ask about. */
export interface Packet {
  readonly src: string;
  readonly dst: string;
  /** IP protocol number (6 tcp, 17 udp, 132 sctp, 1 or 58 ICMP). */
  readonly proto: number;
  readonly dport?: number;
  readonly sport?: number;
  readonly icmp?: { readonly type: number; readonly code: number };
  /** Interfaces by name; absent where the hook has none (no output interface on INPUT). */
  readonly in?: string;
  readonly out?: string;
  readonly state: (typeof STATES)[number];
  /** The socket owner of a local packet (a name or an id); absent for packets from elsewhere. */
  readonly uid?: string;
  readonly gid?: string;
  readonly hoplimit?: number;
}

/** No socket: an owner value no match names (ids are below 2^32 - 1, names above 2^32). */
export const NO_OWNER = (1n << 32n) - 1n;

export function pointOf(family: Family, p: Packet): Box | undefined {
  const src = cidrInterval(p.src);
  const dst = cidrInterval(p.dst);
  if (src === null || dst === null) return undefined;
  const owner = (id: string | undefined): IntervalSet => (id === undefined ? one(NO_OWNER) : ownerSet(id));
  const values: Record<Dim, IntervalSet> = {
    src: one(src[0]),
    dst: one(dst[0]),
    proto: one(BigInt(p.proto)),
    dport: one(BigInt(p.dport ?? 0)),
    icmp: one(p.icmp === undefined ? 0n : BigInt(p.icmp.type * 256 + p.icmp.code)),
    in: one(nameValue(p.in ?? '')),
    out: one(nameValue(p.out ?? '')),
    state: one(BigInt(STATES.indexOf(p.state))),
    dnat: one(0n),
    origdst: one(dst[0]),
    origdport: one(BigInt(p.dport ?? 0)),
    ctdir: one(0n),
    uid: owner(p.uid),
    gid: owner(p.gid),
    hoplimit: one(BigInt(p.hoplimit ?? 64)),
    sport: one(BigInt(p.sport ?? 0)),
    // Which address is the incoming interface's primary one is the host's, not the packet's.
    primary: FULL_ADDR[family],
  };
  return boxFrom(DIMS.map((d) => values[d]));
}
