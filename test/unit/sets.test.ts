import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { mergeCidrs, readAddress } from '../../src/values/addresses.js';
import { intersects, normalizeSet, subtract, type Interval } from '../../src/values/intervals.js';
import { chunkPorts } from '../../src/model/multiport.js';
import { normalizePorts, readPort } from '../../src/values/ports.js';

const interval = fc.tuple(fc.bigInt(0n, 200n), fc.bigInt(0n, 50n)).map(([lo, len]) => [lo, lo + len] as Interval);
const members = (s: readonly Interval[]): Set<bigint> => {
  const out = new Set<bigint>();
  for (const [lo, hi] of s) for (let v = lo; v <= hi; v++) out.add(v);
  return out;
};

describe('interval sets', () => {
  it('normalize keeps exactly the same members and is idempotent', () => {
    fc.assert(fc.property(fc.array(interval, { maxLength: 8 }), (xs) => {
      const n = normalizeSet(xs);
      expect(members(n)).toEqual(members(xs));
      expect(normalizeSet(n)).toEqual(n);
    }));
  });
  it('intersects and subtract agree with member sets', () => {
    fc.assert(fc.property(fc.array(interval, { maxLength: 6 }), fc.array(interval, { maxLength: 6 }), (xs, ys) => {
      const a = normalizeSet(xs);
      const b = normalizeSet(ys);
      const ma = members(a);
      const mb = members(b);
      expect(intersects(a, b)).toBe([...ma].some((v) => mb.has(v)));
      expect(members(subtract(a, b))).toEqual(new Set([...ma].filter((v) => !mb.has(v))));
    }));
  });
});

describe('addresses', () => {
  it('parses and masks IPv4 and IPv6', () => {
    expect(readAddress('10.0.0.1/24')).toMatchObject({ family: 'ipv4', text: '10.0.0.0/24', hostBits: true });
    expect(readAddress('192.0.2.7')).toMatchObject({ text: '192.0.2.7/32', hostBits: false });
    expect(readAddress('2001:DB8:0:0::1/48')).toMatchObject({ family: 'ipv6', text: '2001:db8::/48' });
    expect(readAddress('::/0')).toMatchObject({ prefix: 0, text: '::/0' });
  });
  it('refuses what iptables would read differently or resolve by DNS', () => {
    for (const bad of ['10.1', '0x0a.0.0.1', '010.0.0.1', '10.0.0.0/33', '2001:db8::/129', 'fe80::1%eth0', '10.0.0.0/', '10.0.0.0/8/8', '256.0.0.1'])
      expect(readAddress(bad), bad).toBeTypeOf('string');
    for (const bad of ['1.2.3.256', '999.0.0.1', '10.300.0.0/8']) expect(readAddress(bad), bad).toBeTypeOf('string');
    expect(readAddress('db.example.com')).toMatch(/hostnames are not allowed/);
  });
  it('reads a dotted quad as IPv4 exactly when ipaddr.js does, with and without a prefix', () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 250, max: 999 }));
    fc.assert(fc.property(fc.tuple(octet, octet, octet, octet), fc.option(fc.integer({ min: 0, max: 32 }), { nil: undefined }), (o, prefix) => {
      const addr = o.join('.');
      const text = prefix === undefined ? addr : `${addr}/${prefix}`;
      const r = readAddress(text);
      expect(typeof r !== 'string', text).toBe(ipaddr.IPv4.isValidFourPartDecimal(addr));
      if (typeof r !== 'string' && prefix === undefined) expect(r.text).toBe(`${ipaddr.IPv4.parse(addr).toString()}/32`);
      if (typeof r !== 'string' && prefix !== undefined) expect(r.interval[0]).toBe(BigInt(ipaddr.IPv4.networkAddressFromCIDR(text).toByteArray().reduce((v, b) => v * 256 + b, 0)));
    }));
  });
  it('reads exactly the dotted quads the regular definition admits, from any text of digits and dots', () => {
    // The definition: four octets of at most 255, no leading zeros (iptables would read 010 as octal).
    const quad = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;
    const digitsAndDots = fc.array(fc.constantFrom('0', '1', '2', '5', '6', '9', '.', '.'), { maxLength: 18 }).map((cs) => cs.join(''));
    const nearQuads = fc.tuple(...Array.from({ length: 4 }, () => fc.oneof({ arbitrary: fc.integer({ min: 0, max: 260 }).map(String), weight: 8 }, { arbitrary: fc.constantFrom('00', '01', '007', '256', '1000', '', '1.'), weight: 2 }))).map((o) => o.join('.'));
    let valid = 0;
    fc.assert(fc.property(fc.oneof(digitsAndDots, nearQuads), (addr) => {
      const m = quad.exec(addr);
      const expected = m !== null && m.slice(1).every((o) => Number(o) <= 255);
      const r = readAddress(`${addr}/32`);
      expect(typeof r !== 'string', addr).toBe(expected);
      if (typeof r !== 'string') {
        valid++;
        expect(r.interval[0]).toBe(BigInt(m!.slice(1).reduce((v, o) => v * 256 + Number(o), 0)));
      }
    }), { numRuns: 5000 });
    expect(valid).toBeGreaterThan(500);
  });
});

describe('ports', () => {
  it('parses single ports and ranges, refusing reversed and out-of-range ones', () => {
    expect(readPort(22)).toEqual({ lo: 22, hi: 22 });
    expect(readPort('8000-8010')).toEqual({ lo: 8000, hi: 8010 });
    expect(readPort('10-5')).toMatch(/reversed; write "5-10"/);
    expect(readPort(0)).toBeTypeOf('string');
    expect(readPort(65536)).toBeTypeOf('string');
    expect(readPort('1-70000')).toBeTypeOf('string');
  });
  it('joins overlapping and adjacent ranges', () => {
    expect(normalizePorts([{ lo: 443, hi: 443 }, { lo: 80, hi: 80 }, { lo: 81, hi: 90 }, { lo: 85, hi: 86 }])).toEqual([{ lo: 80, hi: 90 }, { lo: 443, hi: 443 }]);
  });
  it('chunks multiport lists at 15 slots, a range counting 2, losing no port', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 65000 }), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 60 }), (xs) => {
      const ports = normalizePorts(xs.map(([lo, len]) => ({ lo, hi: lo + len })));
      const chunks = chunkPorts(ports);
      for (const c of chunks) expect(c.reduce((n, r) => n + (r.lo === r.hi ? 1 : 2), 0)).toBeLessThanOrEqual(15);
      expect(chunks.flat()).toEqual(ports);
    }));
  });
});

describe('mergeCidrs', () => {
  const cidr = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 20, max: 32 })).map(([a, b, p]) => `10.${a % 4}.${b}.${(a * 7) % 256}/${p}`);
  it('covers exactly the same addresses with no mergeable pair left, and is idempotent', () => {
    fc.assert(fc.property(fc.array(cidr, { minLength: 1, maxLength: 30 }), (texts) => {
      const parsed = texts.map((t) => readAddress(t)).flatMap((r) => (typeof r === 'string' ? [] : [r]));
      const merged = mergeCidrs(parsed);
      expect(normalizeSet(merged.map((c) => c.interval))).toEqual(normalizeSet(parsed.map((c) => c.interval)));
      // Every output block is aligned (a real CIDR) and no two are adjacent siblings or overlapping.
      for (const c of merged) expect(readAddress(c.text)).toMatchObject({ interval: c.interval, hostBits: false });
      for (let i = 1; i < merged.length; i++) expect(merged[i]!.interval[0]).toBeGreaterThan(merged[i - 1]!.interval[1]);
      expect(mergeCidrs(merged)).toEqual(merged);
    }), { numRuns: 500 });
  });
  it('joins the examples an operator would expect', () => {
    const of = (xs: string[]) => mergeCidrs(xs.map((x) => readAddress(x) as Parameters<typeof mergeCidrs>[0][number])).map((c) => c.text);
    expect(of(['10.0.0.0/25', '10.0.0.128/25'])).toEqual(['10.0.0.0/24']);
    expect(of(['10.0.0.0/8', '10.1.2.3', '192.0.2.1'])).toEqual(['10.0.0.0/8', '192.0.2.1/32']);
    expect(of(['2001:db8::/33', '2001:db8:8000::/33', '10.0.0.1'])).toEqual(['10.0.0.1/32', '2001:db8::/32']);
    expect(of(['10.0.0.1', '10.0.0.2'])).toEqual(['10.0.0.1/32', '10.0.0.2/32']);
  });
});
