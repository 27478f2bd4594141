import { chosenFamilies, familiesWhere, familyRecord, FAMILIES } from '../model/family.js';
import type { Family, L4, Match, PortRange, Proto } from '../model/ir.js';
import type { Path, PathSegment } from '../model/path.js';
import type { FamilyChoice } from '../model/policy.js';
import { isWholeFamily, NO_CIDRS, ofFamily, type Cidr } from '../values/addresses.js';
import { normalizeSet, subtract, type Interval, type IntervalSet } from '../values/intervals.js';
import { chunkPorts } from '../model/multiport.js';
import { DIM, everything, icmpSet, ifaceSet, PROTO_NUMBERS, type Box, copyBox } from '../packet/space.js';
import type { Charge } from './budget.js';
import type { Context } from './context.js';
import { isL4 } from './protocols.js';
import { under } from './report.js';

/**
 * What a policy rule matches, family-neutral. `null` means "any". It is the source of the
 * emitted matches (`expand`) and, as boxes of the packet model (`selectorBoxes`), the operand of
 * the order check and of redirect duplicates.
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
  /** Where its expansion's rules are counted against the policy's limits (absent: uncounted, as in tests of this module). */
  readonly budget?: Charge;
}

/**
 * A selector's packets in each of its families, as the packet model's boxes: exactly the union
 * of the boxes of its expansion, minus its exceptions (a property test holds the two equal).
 * Protocols with ports and those without (ICMP) are two boxes; everything else is one.
 */
export function selectorBoxes(sel: Selector): Partial<Record<Family, Box[]>> {
  const out: Partial<Record<Family, Box[]>> = {};
  for (const f of sel.families) {
    const base = copyBox(everything(f));
    const src = addressSet(sel.src, sel.srcExcept, f);
    const dst = addressSet(sel.dst, sel.dstExcept, f);
    if (src !== null) base[DIM.src] = src;
    if (dst !== null) base[DIM.dst] = dst;
    if (sel.inIface !== null) base[DIM.in] = ifaceSet(sel.inIface);
    if (sel.outIface !== null) base[DIM.out] = ifaceSet(sel.outIface);
    if (sel.protos === null) {
      out[f] = [base];
      continue;
    }
    const boxes: Box[] = [];
    const withPorts = sel.ports !== null && sel.icmpType === null ? sel.protos.filter(isL4) : [];
    if (withPorts.length > 0) {
      const b = copyBox(base);
      b[DIM.proto] = protoSet(withPorts, f);
      b[DIM.dport] = normalizeSet(sel.ports!.map((p) => [BigInt(p.lo), BigInt(p.hi)] as Interval));
      boxes.push(b);
    }
    const without = sel.protos.filter((p) => !withPorts.includes(p as L4));
    if (without.length > 0) {
      const b = copyBox(base);
      b[DIM.proto] = protoSet(without, f);
      if (sel.icmpType !== null) b[DIM.icmp] = icmpSet(f, familyRecord(f).icmp[sel.icmpType]!.tool)!;
      boxes.push(b);
    }
    out[f] = boxes;
  }
  return out;
}

const protoSet = (protos: readonly Proto[], f: Family): IntervalSet =>
  normalizeSet(protos.map((p) => {
    const n = BigInt(p === 'icmp' ? familyRecord(f).icmpNumber : PROTO_NUMBERS[p]!);
    return [n, n] as Interval;
  }));

/** A family's addresses of a list, minus exceptions; null for any address. */
function addressSet(cidrs: readonly Cidr[] | null, except: readonly Cidr[], f: Family): IntervalSet | null {
  const minus = normalizeSet(ofFamily(except, f)!.map((c) => c.interval));
  if (cidrs === null) return minus.length === 0 ? null : subtract(everything(f)[DIM.src], minus);
  const base = intervalsOf(cidrs, f);
  return minus.length > 0 ? subtract(base, minus) : base;
}

/**
 * A list's addresses of one family as intervals, made once per list: a named set (or a variable's
 * list) is one array for every rule that uses it, and a long one named in a thousand rules was
 * sorted a thousand times. A pure function's memo, keyed weakly by the list.
 */
const INTERVALS = new WeakMap<readonly Cidr[], Partial<Record<Family, IntervalSet>>>();
function intervalsOf(cidrs: readonly Cidr[], f: Family): IntervalSet {
  let byFamily = INTERVALS.get(cidrs);
  if (byFamily === undefined) INTERVALS.set(cidrs, (byFamily = {}));
  return (byFamily[f] ??= normalizeSet(ofFamily(cidrs, f)!.map((c) => c.interval)));
}

export interface SelectorParts {
  readonly protos: readonly Proto[] | null;
  readonly ports: readonly PortRange[] | null;
  readonly icmpType?: string | null;
  readonly src: readonly Cidr[] | null;
  readonly dst: readonly Cidr[] | null;
  readonly inIface?: string | null;
  readonly outIface?: string | null;
  readonly srcExcept?: readonly Cidr[] | null;
  readonly dstExcept?: readonly Cidr[] | null;
}

/** Builds a selector (see `familiesOf`), or undefined after a diagnostic. */
export function selector(ctx: Context, parts: SelectorParts, choice: FamilyChoice | undefined, rule: Path, srcKey?: PathSegment, dstKey?: PathSegment): Selector | undefined {
  const icmpType = parts.icmpType ?? null;
  const families = familiesOf(ctx, parts.protos, icmpType, parts.src, parts.dst, choice, rule, srcKey, dstKey);
  if (families === undefined) return undefined;
  return {
    protos: parts.protos,
    ports: parts.ports,
    icmpType,
    src: parts.src,
    dst: parts.dst,
    inIface: parts.inIface ?? null,
    outIface: parts.outIface ?? null,
    srcExcept: parts.srcExcept ?? NO_CIDRS,
    dstExcept: parts.dstExcept ?? NO_CIDRS,
    families,
    budget: ctx.budget.rulesAt(rule),
  };
}

/**
 * Decides a selector's families: an explicit `family` narrows; addresses and ICMP type names keep
 * only the families they exist in. A rule left with no family is an error, never silently
 * dropped: undefined, after a diagnostic. The parts come one by one, so that the filter sections
 * build each rule's selector as one object (this runs for every rule of a policy).
 */
export function familiesOf(
  ctx: Context,
  protos: readonly Proto[] | null,
  icmpType: string | null,
  src: readonly Cidr[] | null,
  dst: readonly Cidr[] | null,
  choice: FamilyChoice | undefined,
  rule: Path,
  srcKey?: PathSegment,
  dstKey?: PathSegment,
): readonly Family[] | undefined {
  if (icmpType !== null && !(protos?.length === 1 && protos[0] === 'icmp')) {
    ctx.report('icmp-type-invalid', [...rule, 'icmp-type'], "icmp-type needs proto: icmp (alone)");
    return undefined;
  }
  const allowed = chosenFamilies(choice);
  let ok = true;
  if (choice && choice !== 'both') {
    if (!ofChosenFamily(ctx, src, under(rule, srcKey), choice)) ok = false;
    if (!ofChosenFamily(ctx, dst, under(rule, dstKey), choice)) ok = false;
  }
  if (icmpType !== null && !knownIcmpType(ctx, icmpType, rule)) ok = false;
  if (!ok) return undefined;
  const families = familiesWhere((f) => existsIn(f, allowed, src, dst, icmpType));
  if (families.length === 0) {
    ctx.report('family-mismatch', rule, icmpType !== null && choice
      ? `ICMP type '${icmpType}' does not exist in ${choice}`
      : 'this rule matches in neither IPv4 nor IPv6: its source and destination addresses are of different families; split it into one rule per family');
    return undefined;
  }
  return families;
}

/** Whether some family knows the ICMP type's name (else a diagnostic). */
function knownIcmpType(ctx: Context, icmpType: string, rulePath: Path): boolean {
  if (FAMILIES.some((r) => r.icmp[icmpType] !== undefined)) return true;
  const known = [...new Set(FAMILIES.flatMap((r) => Object.keys(r.icmp)))].sort();
  ctx.report('icmp-type-invalid', [...rulePath, 'icmp-type'], `unknown ICMP type '${icmpType}'; known: ${known.join(', ')}`);
  return false;
}

/** Whether no address of `cidrs` is outside the family the rule is restricted to (else a diagnostic). */
function ofChosenFamily(ctx: Context, cidrs: readonly Cidr[] | null, path: Path, choice: Family): boolean {
  const foreign = (cidrs ?? []).filter((c) => c.family !== choice);
  if (foreign.length === 0) return true;
  ctx.report('family-mismatch', path, `${foreign.map((c) => c.text).join(', ')} cannot match in a rule restricted to family: ${choice}; remove it or change \`family\``);
  return false;
}

const hasFamily = (cidrs: readonly Cidr[], f: Family): boolean => {
  for (let i = 0; i < cidrs.length; i++) if (cidrs[i]!.family === f) return true;
  return false;
};

/** Whether a selector's parts can match in family `f`. */
const existsIn = (f: Family, allowed: readonly Family[], src: readonly Cidr[] | null, dst: readonly Cidr[] | null, icmpType: string | null): boolean =>
  allowed.includes(f) &&
  (src === null || hasFamily(src, f)) &&
  (dst === null || hasFamily(dst, f)) &&
  (icmpType === null || familyRecord(f).icmp[icmpType] !== undefined);

/** Where long address lists go: beyond `threshold` entries a list becomes an ipset of that name. */
export interface SetSink {
  readonly threshold: number;
  readonly name: (dir: 'src' | 'dst', f: Family) => string;
  /**
   * Makes `cidrs` (the list's part in family `f`; `list` is the whole list, whose identity
   * finds a list already made a set) a set: the name of the set to match, which is an earlier set
   * of the same content if there is one, or undefined past the policy's limit of set entries.
   */
  readonly add: (name: string, f: Family, cidrs: readonly Cidr[], list: readonly Cidr[]) => string | undefined;
}

/** Shared: the IR is immutable, and many rules match the same protocol. */
const PROTO_MATCH: Readonly<Record<Proto, Match>> = {
  tcp: { kind: 'proto', proto: 'tcp' },
  udp: { kind: 'proto', proto: 'udp' },
  sctp: { kind: 'proto', proto: 'sctp' },
  icmp: { kind: 'proto', proto: 'icmp' },
};
const ANY_PROTO: readonly (Proto | null)[] = [null];

/**
 * One selector becomes the cartesian product of its sources, destinations, protocols and port
 * chunks. The IR keeps every match list, and this runs for each of its rules, so the lists are
 * made at their exact lengths.
 */
export function expand(sel: Selector, f: Family, sets?: SetSink, shared: PortMatchCache = {}): Match[][] {
  const record = familyRecord(f);
  const srcs = addrMatches(sel.src, 'src', f, sets);
  const dsts = addrMatches(sel.dst, 'dst', f, sets);
  const inM: Match | null = sel.inIface !== null ? { kind: 'in', iface: sel.inIface } : null;
  const outM: Match | null = sel.outIface !== null ? { kind: 'out', iface: sel.outIface } : null;
  const icmpM: Match | null = sel.icmpType !== null ? { kind: 'icmp-type', name: record.icmp[sel.icmpType]!.tool } : null;
  const protos = sel.protos ?? ANY_PROTO;
  let perPair = 0;
  for (let k = 0; k < protos.length; k++) {
    const proto = protos[k]!;
    perPair += proto !== null && icmpM === null && sel.ports !== null && isL4(proto) ? (shared[proto] ??= portMatchesOf(sel.ports, proto)).length : 1;
  }
  const total = srcs.length * dsts.length * perPair;
  // Counted before anything is made: one rule's product can be millions of lists.
  if (sel.budget !== undefined && !sel.budget.charge(total)) return [];
  const out = new Array<Match[]>(total);
  let n = 0;
  for (let i = 0; i < srcs.length; i++) {
    const s = srcs[i]!;
    for (let j = 0; j < dsts.length; j++) {
      const d = dsts[j]!;
      for (let k = 0; k < protos.length; k++) {
        const proto = protos[k]!;
        if (proto === null) out[n++] = matchList(s, d, inM, outM, null, null);
        else if (icmpM !== null) out[n++] = matchList(s, d, inM, outM, PROTO_MATCH[proto], icmpM);
        else if (sel.ports !== null && isL4(proto)) {
          // Port matches are shared by every source and destination of the rule, and by its families.
          const portMatches = shared[proto]!;
          for (let c = 0; c < portMatches.length; c++) out[n++] = matchList(s, d, inM, outM, PROTO_MATCH[proto], portMatches[c]!);
        } else out[n++] = matchList(s, d, inM, outM, PROTO_MATCH[proto], null);
      }
    }
  }
  return out;
}

function portMatchesOf(ports: readonly PortRange[], proto: L4): Match[] {
  return chunkPorts(ports).map((chunk): Match => ({ kind: 'dports', proto, ports: chunk }));
}

/** One selector's port matches by protocol, for sharing them between its families' expansions. */
export type PortMatchCache = Partial<Record<L4, readonly Match[]>>;

/** The non-null matches, in this (canonical) order, in an array of exactly their number. */
function matchList(s: Match | null, d: Match | null, inM: Match | null, outM: Match | null, proto: Match | null, extra: Match | null): Match[] {
  const out = new Array<Match>((s !== null ? 1 : 0) + (d !== null ? 1 : 0) + (inM !== null ? 1 : 0) + (outM !== null ? 1 : 0) + (proto !== null ? 1 : 0) + (extra !== null ? 1 : 0));
  let k = 0;
  if (s !== null) out[k++] = s;
  if (d !== null) out[k++] = d;
  if (inM !== null) out[k++] = inM;
  if (outM !== null) out[k++] = outM;
  if (proto !== null) out[k++] = proto;
  if (extra !== null) out[k++] = extra;
  return out;
}

const NO_ADDRESS: readonly (Match | null)[] = [null];

/**
 * The address matches of family `f` among `cidrs` (null for a /0: it matches the whole family),
 * read in place: most lists hold both families, and this runs for every rule and family.
 */
function addrMatches(cidrs: readonly Cidr[] | null, kind: 'src' | 'dst', f: Family, sets?: SetSink): readonly (Match | null)[] {
  if (cidrs === null) return NO_ADDRESS;
  let n = 0;
  let whole = false;
  for (let i = 0; i < cidrs.length; i++) {
    const c = cidrs[i]!;
    if (c.family !== f) continue;
    n++;
    if (isWholeFamily(c)) whole = true;
  }
  if (sets && sets.threshold > 0 && n > sets.threshold && !whole) {
    const name = sets.add(sets.name(kind, f), f, ofFamily(cidrs, f)!, cidrs);
    return name === undefined ? [] : [{ kind: 'set', name, dir: kind }];
  }
  const out = new Array<Match | null>(n);
  let k = 0;
  for (let i = 0; i < cidrs.length; i++) {
    const c = cidrs[i]!;
    if (c.family === f) out[k++] = isWholeFamily(c) ? null : { kind, cidr: c.text };
  }
  return out;
}
