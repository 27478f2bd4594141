import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { canonicalIPv6, cidrTextInterval, isCanonicalHexIPv6, readAddress } from '../../src/values/addresses.js';

/**
 * What ipaddr.js answers: the reference canonicalIPv6 must agree with, except that ipaddr.js
 * reads `::a.b.c.d` (IPv4-compatible, RFC 4291) as `::ffff:a.b.c.d` (IPv4-mapped), another
 * address, and takes an embedded IPv4 octet with a leading zero (`01`, octal to some readers),
 * which canonicalIPv6 refuses.
 */
const reference = (text: string): string | undefined => {
  try {
    const a = ipaddr.IPv6.parse(text);
    if (/(^|[:.])0\d[^:]*$/.test(text) && text.includes('.') && !text.includes('%')) return undefined;
    if (/^::\d+\.\d+\.\d+\.\d+$/.test(text)) return ipaddr.fromByteArray([...new Array<number>(12).fill(0), ...ipaddr.IPv4.parse(text.slice(2)).toByteArray()]).toString();
    return a.toString();
  } catch {
    return undefined;
  }
};

const group = fc.oneof(fc.constantFrom('0', '00', '0000', '1', 'ffff', 'FFFF', 'aB', '00001', '12345', ''), fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)));
/** Eight groups with zero runs, optionally compressed anywhere, in any case. */
const structured = fc
  .tuple(fc.array(fc.oneof(fc.constant('0'), group), { minLength: 8, maxLength: 8 }), fc.nat(8), fc.nat(8), fc.boolean(), fc.boolean())
  .map(([groups, a, b, compress, upper]) => {
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    const text = compress ? `${groups.slice(0, lo).join(':')}::${groups.slice(hi + 1).join(':')}` : groups.join(':');
    return upper ? text.toUpperCase() : text;
  });
/** Junk from the pieces IPv6 text is made of: most of it invalid in some way. */
const pieces = fc.array(fc.constantFrom('0', '1', 'a', 'F', '00', '0000', 'ffff', '00001', '12345', ':', '::', ':::', '0:0', 'g', '.', '1.2.3.4', '%eth0', ' '), { maxLength: 16 }).map((xs) => xs.join(''));

/** RFC 5952 text of addresses with many zero groups, as ipaddr.js writes it. */
const canonical = fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.constant(1), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
  .map((g) => ipaddr.IPv6.parse(g.map((x) => x.toString(16)).join(':')).toString());
/** Canonical text with one character changed, added or removed: near misses of the fast path. */
const nearMiss = fc.tuple(canonical, fc.nat(40), fc.constantFrom('', '0', ':', 'a', 'A', '::', '00')).map(([text, at, ch]) => {
  const k = at % (text.length + 1);
  return at % 2 === 0 ? text.slice(0, k) + ch + text.slice(k + 1) : text.slice(0, k) + ch + text.slice(k);
});

describe('canonicalIPv6', () => {
  it('answers exactly what ipaddr.js answers, on valid and invalid text', () => {
    fc.assert(fc.property(fc.oneof(structured, pieces, canonical, nearMiss), (text) => {
      expect(canonicalIPv6(text)).toBe(reference(text));
    }), { numRuns: 20000 });
  });

  it('takes text that is already RFC 5952 as it is (the fast path), and only such text', () => {
    fc.assert(fc.property(canonical, (text) => {
      expect(isCanonicalHexIPv6(text)).toBe(true);
    }), { numRuns: 5000 });
    fc.assert(fc.property(fc.oneof(structured, pieces, canonical, nearMiss), (text) => {
      if (isCanonicalHexIPv6(text)) expect(reference(text)).toBe(text);
    }), { numRuns: 20000 });
    for (const text of ['::', '::1', '1::', '2001:db8::1', '2001:db8:0:1:1:1:1:1', '1:0:0:1::1', '::1:0:0:1', 'fe80::1:0:0:0', '1::1:0:0:0']) expect(isCanonicalHexIPv6(text), text).toBe(true);
    for (const text of ['2001:DB8::1', '2001:0db8::1', '1:0::1', '1::0:1', '0::1', '1:0:0:2:0:0:0:3', '1:0:0:0:2::3', '1::1:0:0:0:0', '1::2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', ':1::', '1:::2', '1::2::3', '12345::', '']) expect(isCanonicalHexIPv6(text), text).toBe(false);
  });

  it('is RFC 5952 text: the longest zero run compressed (the first on a tie), never a single zero group', () => {
    expect(canonicalIPv6('2001:DB8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIPv6('2001:db8:0:1:0:0:0:1')).toBe('2001:db8:0:1::1');
    expect(canonicalIPv6('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(canonicalIPv6('0:0:0:0:0:0:0:0')).toBe('::');
    expect(canonicalIPv6('2001:0db8::0001')).toBe('2001:db8::1');
  });

  it('leaves embedded IPv4 to ipaddr.js, and rejects what is no address', () => {
    expect(canonicalIPv6('::ffff:192.0.2.1')).toBe(reference('::ffff:192.0.2.1'));
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', '2001:db8::\n1', '2001:db8::g', ':', '']) {
      expect(canonicalIPv6(bad)).toBeUndefined();
    }
  });
});

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const v6 = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }).map((g) => ipaddr.IPv6.parse(g.map((x) => x.toString(16)).join(':')).toString());
const cidrText = fc.oneof(
  fc.tuple(v4, fc.option(fc.nat(32))).map(([a, p]) => (p === null ? a : `${a}/${p}`)),
  fc.tuple(v6, fc.option(fc.nat(128))).map(([a, p]) => (p === null ? a : `${a}/${p}`)),
  fc.constantFrom('10.0.0.256/32', '10.0.0.1/33', '10.0.0.1/', '2001:db8::1/129', '2001:db8::g/64', 'host/32', '010.0.0.1/32', ''),
);

describe('cidrTextInterval (the checks\' reading of IR texts)', () => {
  it('gives the masked interval readAddress gives, and null where it refuses', () => {
    fc.assert(fc.property(cidrText, (text) => {
      const parsed = readAddress(text);
      expect(cidrTextInterval(text)).toEqual(typeof parsed === 'string' ? null : parsed.interval);
    }), { numRuns: 5000 });
  });
});

/** The dotted-quad language as a regular expression (no leading zeros, octets up to 255): what the hand-written reader must accept. */
const quadReference = (text: string): bigint | undefined => {
  const q = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/.exec(text);
  if (q === null) return undefined;
  const o = q.slice(1).map(Number);
  return o.every((x) => x <= 255) ? BigInt(o.reduce((v, x) => v * 256 + x, 0)) : undefined;
};
/** Near misses of a dotted quad: leading zeros, 256, too many or too few parts, empty parts, signs, blanks. */
const quadish = fc
  .array(fc.oneof(fc.constantFrom('0', '00', '01', '9', '10', '99', '100', '255', '256', '999', '1000', '', '+1', ' 1', '1e1', 'x', '٣'), fc.nat(300).map(String)), { minLength: 1, maxLength: 6 })
  .chain((parts) => fc.constantFrom('.', '..', ',').map((sep) => parts.join(sep)));

describe('dotted quads (read by hand, without a match array)', () => {
  it('accepts exactly the regular language, with octets up to 255, and gives its value', () => {
    fc.assert(fc.property(fc.oneof(quadish, v4), (text) => {
      const want = quadReference(text);
      const got = readAddress(`${text}/24`);
      const isV4 = typeof got !== 'string' && got.family === 'ipv4';
      expect(isV4).toBe(want !== undefined);
      if (want !== undefined && typeof got !== 'string') expect(got.interval[0]).toBe(want & ~0xffn);
      expect(cidrTextInterval(text)).toEqual(want === undefined ? null : [want, want]);
    }), { numRuns: 20000 });
  });
});

describe('IPv6 text that stands for an IPv4 address', () => {
  it('is refused, saying what to write: an IPv4-mapped address (ip6tables never sees it), an IPv4-compatible one (another address)', () => {
    const why = (text: string) => {
      const r = readAddress(text);
      return typeof r === 'string' ? r : r.text;
    };
    expect(why('::ffff:10.0.0.1')).toBe("'::ffff:10.0.0.1' is an IPv4-mapped IPv6 address: ip6tables never sees such packets, IPv4 traffic goes through iptables; write the IPv4 address 10.0.0.1");
    expect(why('::ffff:a00:1/128')).toContain('write the IPv4 address 10.0.0.1');
    expect(why('::ffff:10.0.0.0/104')).toContain('write the IPv4 address 10.0.0.0/8');
    expect(why('::10.0.0.1')).toBe("'::10.0.0.1' is an IPv4-compatible IPv6 address (deprecated by RFC 4291), which is not the IPv4 address 10.0.0.1; write 10.0.0.1 for IPv4, or the host's real IPv6 address");
    for (const ok of ['::', '::1', '::/0', '2001:db8::1', '64:ff9b::1.2.3.4', '::ffff:0:0/95']) expect(why(ok), ok).not.toContain('IPv4');
    expect(why('64:ff9b::1.2.3.4')).toBe('64:ff9b::102:304/128');
  });
});

describe('the value of IPv6 text', () => {
  it('is the value ipaddr.js reads, for every form (hex-colon read by hand, the rest by ipaddr.js)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV6(), fc.ipV6().map((a) => a.toUpperCase())), (a) => {
        const want = BigInt(`0x${ipaddr.IPv6.parse(a).toByteArray().map((b) => b.toString(16).padStart(2, '0')).join('')}`);
        const got = cidrTextInterval(a);
        if (got !== null) expect(got[0], a).toBe(want);
      }),
      { numRuns: 20000 },
    );
  });
});
