import { familyRecord, icmpOverlap, FAMILY_NAMES } from '../model/family.js';
import type { Family, PortRange, Proto } from '../model/ir.js';
import { ofFamily, type Cidr } from './addresses.js';
import { intersects, normalizeSet, subtract, type IntervalSet } from './intervals.js';

/**
 * What a policy rule matches, family-neutral. `null` means "any". It is both the source of the
 * emitted matches and the operand of exact overlap reasoning (order conflicts, duplicates).
 */
export interface Selector {
  readonly protos: readonly Proto[] | null;
  readonly ports: readonly PortRange[] | null;
  readonly icmpType: string | null;
  readonly src: readonly Cidr[] | null;
  readonly dst: readonly Cidr[] | null;
  readonly inIface: string | null;
  readonly outIface: string | null;
  readonly srcExcept: readonly Cidr[];
  readonly dstExcept: readonly Cidr[];
  readonly families: readonly Family[];
}

const FULL: Record<Family, IntervalSet> = { ipv4: [[0n, (1n << 32n) - 1n]], ipv6: [[0n, (1n << 128n) - 1n]] };

function space(cidrs: readonly Cidr[] | null, except: readonly Cidr[], f: Family): IntervalSet {
  const base = cidrs === null ? FULL[f] : normalizeSet(ofFamily(cidrs, f)!.map((c) => c.interval));
  const minus = normalizeSet(ofFamily(except, f)!.map((c) => c.interval));
  return minus.length > 0 ? subtract(base, minus) : base;
}

function ifaceOverlap(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return true;
  const pa = a.endsWith('+') ? a.slice(0, -1) : null;
  const pb = b.endsWith('+') ? b.slice(0, -1) : null;
  if (pa !== null && pb !== null) return pa.startsWith(pb) || pb.startsWith(pa);
  if (pa !== null) return b.startsWith(pa);
  if (pb !== null) return a.startsWith(pb);
  return a === b;
}

/** A selector's packet space in one family, as exact interval sets; computed once per selector. */
interface Space {
  readonly ports: IntervalSet | null;
  readonly src: IntervalSet;
  readonly dst: IntervalSet;
}

// The order check compares one selector with many others: its spaces are built once, not per pair.
const SPACES = new WeakMap<Selector, Partial<Record<Family, Space>>>();

function spaceOf(sel: Selector, f: Family): Space {
  let byFamily = SPACES.get(sel);
  if (byFamily === undefined) SPACES.set(sel, (byFamily = {}));
  return (byFamily[f] ??= {
    ports: sel.ports === null ? null : normalizeSet(sel.ports.map((r) => [BigInt(r.lo), BigInt(r.hi)] as const)),
    src: space(sel.src, sel.srcExcept, f),
    dst: space(sel.dst, sel.dstExcept, f),
  });
}

/** Whether some packet of family `f` matches both selectors (exact: interval sets, not samples). */
export function overlaps(a: Selector, b: Selector, f: Family): boolean {
  if (!a.families.includes(f) || !b.families.includes(f)) return false;
  const protos = a.protos === null ? b.protos : b.protos === null ? a.protos : a.protos.filter((p) => b.protos!.includes(p));
  if (protos !== null && protos.length === 0) return false;
  // Different names can share packets: fragmentation-needed is one code of destination-unreachable.
  if (a.icmpType !== null && b.icmpType !== null && !icmpOverlap(familyRecord(f), a.icmpType, b.icmpType)) return false;
  if (!ifaceOverlap(a.inIface, b.inIface) || !ifaceOverlap(a.outIface, b.outIface)) return false;
  const sa = spaceOf(a, f);
  const sb = spaceOf(b, f);
  if (sa.ports !== null && sb.ports !== null && !intersects(sa.ports, sb.ports)) return false;
  return intersects(sa.src, sb.src) && intersects(sa.dst, sb.dst);
}

export const overlapFamilies = (a: Selector, b: Selector): Family[] => FAMILY_NAMES.filter((f) => overlaps(a, b, f));
