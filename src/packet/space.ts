import { familyRecord } from '../model/family.js';
import type { Family, Match, Rule } from '../model/ir.js';
import { cidrTextInterval, readAddress } from './addresses.js';
import { intersects, normalizeSet, subtract, type Interval, type IntervalSet } from './intervals.js';

/**
 * A rule's match space as a box: one interval set per dimension. Set reasoning over boxes is exact
 * for what it models; a match it cannot model (limit, hashlimit) only ever makes a rule a
 * non-coverer, so findings stay sound.
 */
export const DIMS = ['src', 'dst', 'proto', 'dport', 'icmp', 'in', 'out', 'state', 'dnat', 'origdport', 'uid', 'gid', 'hoplimit'] as const;
export type Box = readonly IntervalSet[];

const full = (hi: bigint): IntervalSet => [[0n, hi]];
const one = (v: bigint): IntervalSet => [[v, v]];
const STATES = ['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED'];
const PROTO_NUMBERS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132 };
/** Names sort above every numeric id, so a name never covers or is covered by a number. */
const NAME_BASE = 1n << 32n;
/**
 * The ICMP dimension is type * 256 + code: a name for a whole type is the type's 256 codes, a
 * name for one code (fragmentation-needed) one point, so the two overlap as they do on the wire.
 */
function icmpSet(family: Family, toolName: string): IntervalSet | undefined {
  const t = Object.values(familyRecord(family).icmp).find((x) => x.tool === toolName);
  if (t === undefined) return undefined;
  const base = BigInt(t.type) * 256n;
  return t.code === undefined ? [[base, base + 255n]] : one(base + BigInt(t.code));
}
const FULL_ICMP = full(65535n);

/** Interface names as tokens: each name mentioned, plus one "rest" token per wildcard and overall. */
export class Interfaces {
  private readonly tokens: string[];
  constructor(names: Iterable<string>) {
    this.tokens = [...new Set([...names, '*'])].sort();
    this.all = full(BigInt(this.tokens.length - 1));
  }
  get max(): bigint {
    return BigInt(this.tokens.length - 1);
  }
  /** Every interface: the full token range, built once. */
  readonly all: IntervalSet = [[0n, 0n]];
  set(name: string | undefined): IntervalSet {
    if (name === undefined) return full(this.max);
    if (!name.endsWith('+')) return one(BigInt(this.tokens.indexOf(name)));
    const prefix = name.slice(0, -1);
    // A wildcard covers every mentioned name and wildcard with its prefix, including its own "rest".
    return normalizeSet(this.tokens.flatMap((t, i) => (t !== '*' && t.startsWith(prefix) ? [[BigInt(i), BigInt(i)] as Interval] : [])));
  }
}

const hash = (s: string): bigint => {
  let h = 0n;
  for (const ch of s) h = (h * 131n + BigInt(ch.codePointAt(0)!)) % (1n << 31n);
  return NAME_BASE + h;
};

function ownerSet(id: string): IntervalSet {
  const range = /^(\d+)-(\d+)$/.exec(id);
  if (range) return [[BigInt(range[1]!), BigInt(range[2]!)]];
  if (/^\d+$/.test(id)) return one(BigInt(id));
  return one(hash(id));
}

/** Interval sets are never mutated, so the full ranges are shared by every box. */
const FULL_ADDR: Record<Family, IntervalSet> = { ipv4: full((1n << 32n) - 1n), ipv6: full((1n << 128n) - 1n) };
const FULL_BYTE = full(255n);
const FULL_PORT = full(65535n);
const FULL_STATE = full(4n);
const FULL_BIT = full(1n);
const FULL_ID = full((NAME_BASE << 1n) - 1n);
const cidrCache = new Map<string, Interval | null>();
function cidrInterval(text: string): Interval | null {
  let hit = cidrCache.get(text);
  if (hit === undefined) {
    hit = cidrTextInterval(text);
    if (cidrCache.size < 200_000) cidrCache.set(text, hit);
  }
  return hit;
}

/** The box of a rule, or undefined when it has a match that only sometimes matches (rate limits). */
export function boxOf(rule: Rule, family: Family, ifaces: Interfaces): { box: Box; exact: boolean } {
  const bits = BigInt(familyRecord(family).bits);
  const anyIface = ifaces.all;
  const start: IntervalSet[] = [FULL_ADDR[family], FULL_ADDR[family], FULL_BYTE, FULL_PORT, FULL_ICMP, anyIface, anyIface, FULL_STATE, FULL_BIT, FULL_PORT, FULL_ID, FULL_ID, FULL_BYTE];
  const b = start.slice();
  const set = (d: (typeof DIMS)[number], v: IntervalSet) => {
    const i = DIM_INDEX[d];
    // A dimension still at its full range becomes `v` itself when `v` lies inside it: most
    // matches restrict a dimension no other match of the rule touches.
    b[i] = b[i] === start[i] && within(v, start[i]![0]!) ? v : intersect(b[i]!, v);
  };
  let exact = true;
  for (const m of rule.matches as readonly Match[]) {
    switch (m.kind) {
      case 'src':
      case 'dst': {
        const iv = cidrInterval(m.cidr);
        if (iv) set(m.kind, m.negate ? subtract(FULL_ADDR[family], [iv]) : [iv]);
        break;
      }
      case 'iprange': {
        const a = readAddress(m.from);
        const z = readAddress(m.to);
        if (typeof a !== 'string' && typeof z !== 'string') {
          const span: IntervalSet = [[a.interval[0], z.interval[0]]];
          set(m.dir, m.negate ? subtract(full((1n << bits) - 1n), span) : span);
        } else exact = false;
        break;
      }
      case 'ctdir':
      case 'ctorigdst':
      case 'set':
        // Not modelled: the box is then a superset, which keeps findings sound.
        exact = false;
        break;
      case 'in':
      case 'out':
        set(m.kind, ifaces.set(m.iface));
        break;
      case 'proto':
        set('proto', one(BigInt(m.proto === 'icmp' ? familyRecord(family).icmpNumber : PROTO_NUMBERS[m.proto]!)));
        break;
      case 'dports':
        set('proto', one(BigInt(PROTO_NUMBERS[m.proto]!)));
        set('dport', normalizeSet(m.ports.map((p) => [BigInt(p.lo), BigInt(p.hi)] as Interval)));
        break;
      case 'icmp-type': {
        const v = icmpSet(family, m.name);
        if (v !== undefined) set('icmp', v);
        else exact = false;
        break;
      }
      case 'hop-limit':
        set('hoplimit', one(BigInt(m.eq)));
        break;
      case 'ctstate': {
        const states = m.states.filter((s) => s !== 'DNAT');
        if (states.length > 0) {
          const v = normalizeSet(states.map((s) => [BigInt(STATES.indexOf(s)), BigInt(STATES.indexOf(s))] as Interval));
          set('state', m.negate ? subtract(full(4n), v) : v);
        }
        if (m.states.includes('DNAT')) set('dnat', one(m.negate ? 0n : 1n));
        break;
      }
      case 'ctorigdstport':
        set('origdport', [[BigInt(m.ports.lo), BigInt(m.ports.hi)]]);
        break;
      case 'owner':
        set(m.by, ownerSet(m.id));
        break;
      case 'limit':
      case 'hashlimit':
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

const DIM_INDEX = Object.fromEntries(DIMS.map((d, i) => [d, i])) as Record<(typeof DIMS)[number], number>;
const within = (v: IntervalSet, [lo, hi]: Interval): boolean => v.length > 0 && v[0]![0] >= lo && v[v.length - 1]![1] <= hi;

export function intersect(a: IntervalSet, b: IntervalSet): IntervalSet {
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = a[i]![0] > b[j]![0] ? a[i]![0] : b[j]![0];
    const hi = a[i]![1] < b[j]![1] ? a[i]![1] : b[j]![1];
    if (lo <= hi) out.push([lo, hi]);
    if (a[i]![1] < b[j]![1]) i++;
    else j++;
  }
  return out;
}

/** Allocation-free: this runs for every candidate pair of a chain. */
export function boxesIntersect(a: Box, b: Box): boolean {
  for (let i = 0; i < a.length; i++) if (!intersects(a[i]!, b[i]!)) return false;
  return true;
}

/** a minus b as disjoint boxes (at most one per dimension). */
export function subtractBox(a: Box, b: Box): Box[] {
  if (!boxesIntersect(a, b)) return [a];
  const out: Box[] = [];
  const cur = [...a];
  for (let i = 0; i < cur.length; i++) {
    const outside = subtract(cur[i]!, b[i]!);
    if (outside.length > 0) out.push(cur.map((d, k) => (k === i ? outside : d)));
    cur[i] = intersect(cur[i]!, b[i]!);
  }
  return out;
}

const PRECHECK_ORDER = (['state', 'dnat', 'in', 'out', 'proto', 'dport', 'icmp', 'origdport', 'hoplimit', 'uid', 'gid', 'src', 'dst'] as const).map((d) => DIMS.indexOf(d));

/**
 * Whether `box` is inside the union of `covers`. Undefined when the work budget runs out (a
 * finding is then not reported rather than guessed).
 */
export function coveredBy(box: Box, covers: readonly Box[], budget = 20_000): boolean | undefined {
  if (hasWitness(box, covers)) return false;
  // Necessary condition, cheap: in every dimension on its own, the covers must span the box.
  // Small, decisive dimensions first: a rule is usually not covered because of its state or interface.
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

const contains = (set: IntervalSet, v: bigint): boolean => set.some(([lo, hi]) => lo <= v && v <= hi);

/**
 * Looks for one concrete packet of `box` that no cover matches, choosing its value dimension by
 * dimension so as to leave as many covers behind as possible. Finding one proves the box is not
 * covered, without the exact subtraction (which splits boxes across every dimension and is what
 * costs time when wide rules, like the ESTABLISHED and loopback accepts, overlap everything).
 * Not finding one proves nothing: the exact check decides then.
 */
function hasWitness(box: Box, covers: readonly Box[]): boolean {
  if (covers.length > 64) return false;
  let left = covers;
  for (const d of box.length === DIMS.length ? PRECHECK_ORDER : box.map((_, i) => i)) {
    const dim = box[d]!;
    const candidates: bigint[] = dim.map(([lo]) => lo);
    for (const c of left) {
      for (const [lo, hi] of c[d]!) {
        if (contains(dim, lo - 1n)) candidates.push(lo - 1n);
        if (contains(dim, hi + 1n)) candidates.push(hi + 1n);
      }
    }
    let best: readonly Box[] = left;
    for (const v of candidates) {
      const still = left.filter((c) => contains(c[d]!, v));
      if (still.length < best.length) best = still;
      if (best.length === 0) return true;
    }
    left = best;
  }
  return left.length === 0;
}
