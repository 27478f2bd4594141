import { domainToASCII } from 'node:url';
import ipaddr from 'ipaddr.js';
import { FAMILY_NAMES, familyRecord } from '../model/family.js';
import type { Family } from '../model/ir.js';
import { normalizeSet, type Interval } from './intervals.js';

/** A parsed, masked CIDR. `text` is what the restore file gets (the network, never host bits). */
export interface Cidr {
  readonly family: Family;
  readonly text: string;
  readonly prefix: number;
  readonly interval: Interval;
  /** True when the written address had host bits set (10.0.0.1/24), which iptables masks silently. */
  readonly hostBits: boolean;
}

const bitsOf = (f: Family): number => familyRecord(f).bits;
/** The family of address text: IPv6 has colons, IPv4 none. */
const familyOfText = (text: string): Family => FAMILY_NAMES[text.includes(':') ? 1 : 0]!;

function tryParse<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch {
    return undefined;
  }
}

/** IPv6 written in hex groups, colons and an embedded IPv4 at most: no zone, nothing after it. */
const HEX_IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

/**
 * An IPv6 address's RFC 5952 text, or undefined when it is none. Node's WHATWG URL host parser
 * answers (in C++, five times faster than ipaddr.js: one address per rule of a policy), and its
 * serializer is RFC 5952's: test/unit/address-text.test.ts holds it to ipaddr.js's answers. It
 * also reads an embedded IPv4 as the RFC says: ipaddr.js reads ::10.0.0.1 as ::ffff:10.0.0.1,
 * another address. Anything else (a zone) is ipaddr.js's. The parser is asked through
 * `domainToASCII`, which gives the host's text ('' when there is none) without building a URL
 * object or throwing; what follows the `]` would be read as a path, which HEX_IPV6 rules out.
 */
export function canonicalIPv6(text: string): string | undefined {
  if (isCanonicalHexIPv6(text)) return text;
  if (!HEX_IPV6.test(text)) return ipaddrText(text);
  const host = domainToASCII(`[${text}]`);
  return host === '' ? undefined : host.slice(1, -1);
}

const COLON = 0x3a;

/**
 * Whether `text` is an IPv6 address already in its RFC 5952 text, as policies written from
 * `ip addr` or a canonicalising tool are: lowercase hex groups without leading zeros, and `::`
 * for the longest run of two or more zero groups, the first of equal runs. A character scan
 * with no allocation, where the URL parser costs about half a microsecond per address; anything
 * else is left to it. test/unit/address-text.test.ts holds it to canonicalIPv6's other answers.
 */
export function isCanonicalHexIPv6(text: string): boolean {
  const n = text.length;
  if (n < 2 || n > 39) return false;
  let i = 0;
  let groups = 0;
  /** Explicit groups before the `::`, or -1 when there is none. */
  let gapAt = -1;
  let run = 0;
  let longestBefore = 0;
  let longestAfter = 0;
  let lastWasZero = false;
  if (text.charCodeAt(0) === COLON) {
    if (text.charCodeAt(1) !== COLON) return false;
    if (n === 2) return true;
    gapAt = 0;
    i = 2;
  }
  for (;;) {
    const start = i;
    while (i < n && i - start < 5) {
      const c = text.charCodeAt(i);
      if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) break;
      i++;
    }
    const len = i - start;
    if (len === 0 || len > 4) return false;
    const zero = text.charCodeAt(start) === 0x30;
    if (zero && len > 1) return false;
    // A zero group beside the `::` belongs in it.
    if (zero && gapAt === groups) return false;
    groups++;
    run = zero ? run + 1 : 0;
    if (gapAt === -1) longestBefore = Math.max(longestBefore, run);
    else longestAfter = Math.max(longestAfter, run);
    lastWasZero = zero;
    if (i === n) break;
    if (text.charCodeAt(i) !== COLON || i + 1 === n) return false;
    i++;
    if (text.charCodeAt(i) === COLON) {
      if (gapAt !== -1 || lastWasZero) return false;
      gapAt = groups;
      run = 0;
      i++;
      if (i === n) break;
    }
  }
  if (gapAt === -1) return groups === 8 && longestBefore < 2;
  const compressed = 8 - groups;
  return compressed >= 2 && longestBefore < compressed && longestAfter <= compressed;
}

/** IPv6 text read by ipaddr.js: its canonical text, or its value; undefined when it is none. */
const ipaddrText = (text: string): string | undefined => tryParse(() => ipaddr.IPv6.parse(text).toString());
const ipv6Value = (text: string): bigint | undefined => tryParse(() => addressValue(familyOfText(text), text));


/**
 * A Cidr whose interval is computed on first use: most rules of a large policy are single hosts
 * that only need their text, and 100,000 bigint pairs are a tenth of a second.
 */
class LazyCidr implements Cidr {
  private computed: Interval | undefined;
  constructor(
    readonly family: Family,
    readonly text: string,
    readonly prefix: number,
    readonly hostBits: boolean,
    interval?: Interval,
  ) {
    this.computed = interval;
  }

  get interval(): Interval {
    if (this.computed === undefined) {
      const value = addressValue(this.family, this.text.slice(0, this.text.indexOf('/')));
      this.computed = [value, value | hostMask(this.family, this.prefix)];
    }
    return this.computed;
  }
}

const hostMask = (family: Family, prefix: number): bigint => (1n << BigInt(bitsOf(family) - prefix)) - 1n;

/** An address's value; `family` is the text's (IPv6 has colons). */
function addressValue(family: Family, text: string): bigint {
  if (familyOfText(text) !== family) throw new Error(`not an ${familyRecord(family).label} address: ${text}`);
  if (text.includes(':')) return valueOf(ipaddr.IPv6.parse(text));
  const value = quadValue(text);
  if (value === undefined) throw new Error(`not a dotted quad: ${text}`);
  return value;
}

/** A prefix length's text as a number of at most `bits`, or undefined. */
function prefixLength(text: string, bits: number): number | undefined {
  return /^[0-9]{1,3}$/.test(text) && Number(text) <= bits ? Number(text) : undefined;
}

/** A dotted quad's value, or undefined. */
function quadValue(text: string): bigint | undefined {
  const n = quadNumber(text);
  return n < 0 ? undefined : BigInt(n);
}

/**
 * A dotted quad's value as a number, or -1. Plain dotted decimal only: no leading zeros (iptables
 * would read 010 as octal), octets up to 255. Read without a match array: this runs for every IPv4
 * address of a policy (test/unit/address-text.test.ts holds it to the regular expression).
 */
function quadNumber(text: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      // No leading zeros (iptables would read 010 as octal).
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else return -1;
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

/**
 * The addresses of a CIDR text as the IR holds it ("10.0.0.0/8", "2001:db8::/32"), masked; null
 * when it is none. For checks, which reason about the IR's texts: they were validated when the
 * policy was normalized, so this builds no Cidr and asks no URL parser.
 */
export function cidrTextInterval(text: string): Interval | null {
  const slash = text.indexOf('/');
  const addr = slash === -1 ? text : text.slice(0, slash);
  const family = familyOfText(addr);
  const bits = bitsOf(family);
  const prefix = slash === -1 ? bits : prefixLength(text.slice(slash + 1), bits);
  if (prefix === undefined) return null;
  const value = !addr.includes(':') ? quadValue(addr) : addr.includes('%') ? undefined : ipv6Value(addr);
  if (value === undefined) return null;
  const mask = hostMask(family, prefix);
  return [value & ~mask, value | mask];
}

function valueOf(addr: ipaddr.IPv6): bigint {
  return BigInt(`0x${addr.parts.map((x) => x.toString(16).padStart(4, '0')).join('')}`);
}

/**
 * IPv6 text that stands for an IPv4 address: an IPv4-mapped address (::ffff:10.0.0.1) is how a
 * socket shows IPv4 traffic, which ip6tables never sees; an IPv4-compatible one (::10.0.0.1,
 * deprecated by RFC 4291) is an IPv6 address that is not 10.0.0.1. Either says something other
 * than the author meant.
 */
function ipv4InIPv6(text: string, value: bigint, prefix: number): string | undefined {
  const high = value >> 32n;
  if (high !== 0xffffn && !(high === 0n && value > 1n)) return undefined;
  const v4 = [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.') + (prefix < 128 ? `/${prefix - 96}` : '');
  return high === 0xffffn
    ? `'${text}' is an IPv4-mapped IPv6 address: ip6tables never sees such packets, IPv4 traffic goes through iptables; write the IPv4 address ${v4}`
    : `'${text}' is an IPv4-compatible IPv6 address (deprecated by RFC 4291), which is not the IPv4 address ${v4}; write ${v4} for IPv4, or the host's real IPv6 address`;
}

/**
 * The CIDR a text stands for, or why it is none. Only literal addresses: iptables would resolve a
 * hostname by DNS when the file is loaded, so the ruleset would depend on the resolver at boot.
 * IPv4 must be dotted quad (ipaddr.js alone also accepts forms like 0x0a.1 that iptables reads
 * differently).
 */
export function readAddress(text: string): Cidr | string {
  const slash = text.indexOf('/');
  const addrText = slash === -1 ? text : text.slice(0, slash);
  const prefixText = slash === -1 ? undefined : text.slice(slash + 1);
  // A valid dotted quad is its own canonical text, so a single IPv4 host needs no parse beyond
  // its octets (this runs for every address of a policy); canonicalIPv6 reads IPv6, and ipaddr.js
  // the IPv6 networks' values for their masking.
  const v4 = quadNumber(addrText);
  const isV4 = v4 >= 0;
  const v6 = !isV4 && addrText.includes(':') && !addrText.includes('%') ? canonicalIPv6(addrText) : undefined;
  if (!isV4 && !v6) {
    const why = /^[A-Za-z0-9.-]+$/.test(addrText) && /[A-Za-z]/.test(addrText) && !addrText.includes(':')
      ? 'hostnames are not allowed (iptables would resolve them by DNS at load time); write the address, or name an `addresses` set'
      : 'write an IPv4 address (192.0.2.1), an IPv6 address (2001:db8::1) or a CIDR (192.0.2.0/24)';
    return `'${text}' is not an address or CIDR: ${why}`;
  }
  const family = familyOfText(addrText);
  const bits = bitsOf(family);
  const prefix = prefixText === undefined ? bits : prefixLength(prefixText, bits);
  if (prefix === undefined) {
    return `'${text}' has an invalid prefix length: an ${familyRecord(family).label} prefix is 0 to ${bits}`;
  }
  // A single host has no host bits: a dotted quad is already canonical, an IPv6 address is
  // rendered once (RFC 5952).
  const written = v6 ?? addrText;
  if (v6 !== undefined && prefix >= 96 && (v6.startsWith('::ffff:') || (v6.startsWith('::') && v6 !== '::' && v6 !== '::1'))) {
    const why = ipv4InIPv6(text, addressValue(family, v6), prefix);
    if (why) return why;
  }
  if (prefix === bits) return new LazyCidr(family, flatCidrText(written, prefix), prefix, false);
  const value = isV4 ? BigInt(v4) : addressValue(family, written);
  const mask = hostMask(family, prefix);
  const network = value & ~mask;
  // Masked networks are rebuilt from their bytes.
  const canonical = network !== value ? ipaddr.fromByteArray(toBytes(network, familyRecord(family).bytes)).toString() : written;
  return new LazyCidr(family, `${canonical}/${prefix}`, prefix, network !== value, [network, network | mask]);
}

const JOIN: [string, number] = ['', 0];

/**
 * `address/prefix` as one flat string, where `${a}/${b}` keeps a three-piece cons string (for
 * IPv6, a slice of the URL's hostname too) alive in the IR. Joined from one reused pair: an array
 * per address would be garbage for every address of a policy.
 */
function flatCidrText(address: string, prefix: number): string {
  JOIN[0] = address;
  JOIN[1] = prefix;
  const text = JOIN.join('/');
  JOIN[0] = '';
  return text;
}

function toBytes(v: bigint, n: number): number[] {
  const out: number[] = new Array<number>(n);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** A /0 matches the whole family, so the emitted rule needs no -s/-d at all. */
export const isWholeFamily = (c: Cidr): boolean => c.prefix === 0;

const familyOrder = (f: Family): number => FAMILY_NAMES.indexOf(f);
const byFamilyThenStart = (a: Cidr, b: Cidr): number =>
  a.family !== b.family ? familyOrder(a.family) - familyOrder(b.family) : a.interval[0] < b.interval[0] ? -1 : a.interval[0] > b.interval[0] ? 1 : 0;

/** Sorted (IPv4 first, then by address), disjoint, not adjacent, no host bits: nothing to merge. */
function isMinimal(cidrs: readonly Cidr[]): boolean {
  for (let i = 0; i < cidrs.length; i++) {
    const c = cidrs[i]!;
    if (c.hostBits) return false;
    if (i === 0) continue;
    const prev = cidrs[i - 1]!;
    if (prev.family === c.family ? c.interval[0] <= prev.interval[1] + 1n : familyOrder(prev.family) > familyOrder(c.family)) return false;
  }
  return true;
}

/**
 * The fewest CIDRs that cover exactly the same addresses: overlapping and adjacent networks are
 * joined (10.0.0.0/25 + 10.0.0.128/25 = 10.0.0.0/24), contained ones dropped. IPv4 first, then
 * IPv6, each in address order.
 */
export function mergeCidrs(cidrs: readonly Cidr[]): readonly Cidr[] {
  // Most lists are already minimal and in order (one address, or an IPv4 and an IPv6 one): the
  // same array, neither copied nor sorted (this runs for every address list of a policy).
  if (isMinimal(cidrs)) return cidrs;
  const sorted = [...cidrs].sort(byFamilyThenStart);
  if (isMinimal(sorted)) return sorted;
  const out: Cidr[] = [];
  for (const family of FAMILY_NAMES) {
    const bits = BigInt(bitsOf(family));
    for (const [lo, hi] of normalizeSet(cidrs.filter((c) => c.family === family).map((c) => c.interval))) {
      for (const [first, prefix] of alignedBlocks(lo, hi, bits)!) {
        const text = `${ipaddr.fromByteArray(toBytes(first, familyRecord(family).bytes)).toString()}/${prefix}`;
        out.push(new LazyCidr(family, text, prefix, false, [first, first | hostMask(family, prefix)]));
      }
    }
  }
  return out;
}

/** An address value as text (192.0.2.1, 2001:db8::1), a block with its prefix when not a host. */
export function addressText(family: Family, v: bigint, prefix: number = familyRecord(family).bits): string {
  const text = hostText(family, v);
  return prefix === familyRecord(family).bits ? text : `${text}/${prefix}`;
}

/**
 * An address's text, remembered: `show` says the same banned hosts in thousands of rows. Keyed
 * by a number folded from the address (a Map keyed by the BigInt itself hashes only its low 64
 * bits: every IPv6 host ending in ::1 would collide), checked against the address itself.
 */
function hostText(family: Family, v: bigint): string {
  const cache = HOST_TEXT[family];
  const key = Number(BigInt.asUintN(52, v ^ (v >> 52n) ^ (v >> 104n)));
  const hit = cache.get(key);
  if (hit !== undefined && hit.v === v) return hit.text;
  const text = ipaddr.fromByteArray(toBytes(v, familyRecord(family).bytes)).toString();
  if (cache.size >= MAX_HOST_TEXTS) cache.clear();
  cache.set(key, { v, text });
  return text;
}
const HOST_TEXT: Readonly<Record<Family, Map<number, { readonly v: bigint; readonly text: string }>>> = { ipv4: new Map(), ipv6: new Map() };
const MAX_HOST_TEXTS = 1 << 18;

/** The number of bits of a positive value. */
const bitLength = (v: bigint): number => v.toString(2).length;

/**
 * The fewest CIDR blocks covering exactly [lo, hi] in an address space of `bits` bits, as
 * [first address, prefix length]; null when more than `max` would be needed.
 */
export function alignedBlocks(lo: bigint, hi: bigint, bits: bigint, max = Infinity): [bigint, number][] | null {
  // One address, one block: most of what `show` says is lists of hosts, thousands per row.
  if (lo === hi) return max < 1 ? null : [[lo, Number(bits)]];
  const out: [bigint, number][] = [];
  while (lo <= hi) {
    if (out.length >= max) return null;
    // The largest aligned block starting at lo that stays within [lo, hi]: as large as lo's
    // trailing zero bits allow and the rest of the interval holds. Found from the two bit
    // lengths, not bit by bit (an IPv6 gap is a hundred blocks of up to 128 bits each).
    let size = BigInt(bitLength(hi - lo + 1n) - 1);
    if (lo !== 0n) {
      const zeros = BigInt(bitLength(lo & -lo) - 1);
      if (zeros < size) size = zeros;
    }
    if (size > bits) size = bits;
    out.push([lo, Number(bits - size)]);
    lo += 1n << size;
  }
  return out;
}

/** An empty address list, shared: the IR never changes one. */
export const NO_CIDRS: readonly Cidr[] = [];

/** The CIDRs of one family; the same array when all are of it (this runs several times per rule). */
export function ofFamily(cidrs: readonly Cidr[] | null, f: Family): readonly Cidr[] | null {
  if (cidrs === null) return null;
  let n = 0;
  for (let i = 0; i < cidrs.length; i++) if (cidrs[i]!.family === f) n++;
  if (n === cidrs.length) return cidrs;
  if (n === 0) return NO_CIDRS;
  const out = new Array<Cidr>(n);
  let k = 0;
  for (let i = 0; i < cidrs.length; i++) if (cidrs[i]!.family === f) out[k++] = cidrs[i]!;
  return out;
}
