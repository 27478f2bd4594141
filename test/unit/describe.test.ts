import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alignedBlocks, readAddress } from '../../src/values/addresses.js';
import { describeBox, joinBoxes } from '../../src/analysis/describe.js';
import { normalizeSet, subtract, type IntervalSet } from '../../src/values/intervals.js';
import { DIM, everything, ifaceSet, type Box, copyBox } from '../../src/packet/space.js';

const FAMILIES = [
  { family: 'ipv4', bits: 32n },
  { family: 'ipv6', bits: 128n },
] as const;

/**
 * Sets of addresses near one another (so that some intervals touch, and blocks merge), some at
 * the ends of the space (IPv6's low end is the IPv4-compatible addresses, which are refused as
 * text: from 2^64).
 */
const addressSet = (bits: bigint) => {
  const top = (1n << bits) - 1n;
  const bottom = bits === 32n ? 0n : 1n << 64n;
  const value = fc.oneof(
    fc.bigInt({ min: bottom, max: bottom + 64n }),
    fc.bigInt({ min: top - 64n, max: top }),
    fc.bigInt({ min: 0n, max: 4096n }).map((v) => (1n << (bits - 8n)) + v * 37n),
  );
  const scattered = fc.array(fc.tuple(value, fc.bigInt({ min: 0n, max: 70n })), { minLength: 1, maxLength: 40 }).map((xs) => normalizeSet(xs.map(([lo, n]) => [lo, lo + n > top ? top : lo + n] as const)));
  // Intervals one after another with gaps of one to a few addresses, from either end.
  const packed = fc
    .tuple(fc.boolean(), fc.array(fc.tuple(fc.bigInt({ min: 1n, max: 4n }), fc.bigInt({ min: 0n, max: 4n })), { minLength: 1, maxLength: 30 }))
    .map(([fromTop, steps]) => {
      let at = fromTop ? top - 200n : bottom;
      const out: [bigint, bigint][] = [];
      for (const [gap, n] of steps) {
        out.push([at, at + n]);
        at += n + 1n + gap;
      }
      return normalizeSet(fromTop ? [...out, [at, top]] : out);
    });
  // And each as the rest: most of the space but a few hosts (a row of bans).
  const set = fc.oneof(scattered, packed);
  return fc.tuple(set, fc.boolean()).map(([x, rest]) => (rest ? subtract([[0n, top]], x) : x)).filter((x) => x.length > 0);
};

/** The blocks of a set, interval by interval: the definition the text is held to. */
const blockCount = (s: IntervalSet, bits: bigint): number => s.reduce((n, [lo, hi]) => n + alignedBlocks(lo, hi, bits)!.length, 0);

/** A cell of addresses read back: the CIDRs it lists, or all but them. */
function readBack(text: string, family: 'ipv4' | 'ipv6'): { set: IntervalSet; blocks: number } {
  const except = text.startsWith('any except ');
  const items = (except ? text.slice('any except '.length) : text).split(', ');
  const listed = normalizeSet(items.map((t) => {
    const a = readAddress(t);
    if (typeof a === 'string') throw new Error(`${t}: ${a}`);
    return a.interval;
  }));
  return { set: except ? subtract(everything(family)[DIM.src], listed) : listed, blocks: items.length };
}

describe('describing addresses', () => {
  for (const { family, bits } of FAMILIES) {
    it(`${family}: lists exactly the set, on the side of fewer CIDR blocks (its own on a tie)`, () => {
      fc.assert(
        fc.property(addressSet(bits), (s) => {
          const full = everything(family)[DIM.src];
          fc.pre(subtract(full, s).length > 0);
          const box = copyBox(everything(family));
          box[DIM.src] = s;
          const said = describeBox(family, box).from!;
          const back = readBack(said, family);
          expect(back.set).toEqual(s);
          const own = blockCount(s, bits);
          const rest = blockCount(subtract(full, s), bits);
          expect(back.blocks).toBe(Math.min(own, rest));
          expect(said.startsWith('any except ')).toBe(rest < own);
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe('joining boxes', () => {
  const withSrc = (src: IntervalSet, port: bigint): { box: Box } => {
    const box = copyBox(everything('ipv6'));
    box[DIM.src] = src;
    box[DIM.dport] = [[port, port]];
    return { box };
  };
  const hosts = (from: bigint, n: number, step: bigint): IntervalSet => Array.from({ length: n }, (_, i) => [from + BigInt(i) * step, from + BigInt(i) * step] as const);

  it('joins boxes whose long sets are equal but not the same array', () => {
    const a = hosts(1n << 100n, 40, 1n << 70n);
    const b = a.map(([lo, hi]) => [lo, hi] as const);
    const joined = joinBoxes([withSrc(a, 22n), withSrc(b, 80n)], () => '');
    expect(joined).toHaveLength(1);
    expect(joined[0]!.box[DIM.dport]).toEqual([[22n, 22n], [80n, 80n]]);
  });

  it('keeps apart long sets that differ only where their hash does not look (bits 32 to 63)', () => {
    const a = hosts(1n << 100n, 40, 1n << 70n);
    const b = a.map(([lo, hi], i) => (i === 17 ? ([lo + (1n << 40n), hi + (1n << 40n)] as const) : ([lo, hi] as const)));
    const joined = joinBoxes([withSrc(a, 22n), withSrc(b, 80n), withSrc(a, 443n)], () => '');
    expect(joined.map((j) => j.box[DIM.dport])).toEqual([[[22n, 22n], [443n, 443n]], [[80n, 80n]]]);
  });
});

// A prefix less a few names read as the bytes of two ends ("br- to br-lam\ufffd..."): a
// no-context review's diff of a Docker host's egress rules.
describe('interfaces said by name', () => {
  const said = (set: IntervalSet): string | null => {
    const box = copyBox(everything('ipv4'));
    box[DIM.in] = set;
    return describeBox('ipv4', box).in;
  };
  it('says a prefix less some names or prefixes as the prefix with its exceptions', () => {
    expect(said(subtract(ifaceSet('br-+'), ifaceSet('br-lan')))).toBe('br-+ (except br-lan)');
    expect(said(subtract(subtract(ifaceSet('br-+'), ifaceSet('br-lan')), ifaceSet('br-x+')))).toBe('br-+ (except br-lan, br-x+)');
    expect(said(normalizeSet([...subtract(ifaceSet('br-+'), ifaceSet('br-lan')), ...ifaceSet('docker0')]))).toBe('br-+ (except br-lan), docker0');
  });
  it('says names, prefixes and their mixtures as before', () => {
    expect(said(normalizeSet([...ifaceSet('eth0'), ...ifaceSet('wg+')]))).toBe('eth0, wg+');
    expect(said(subtract(everything('ipv4')[DIM.in], ifaceSet('lo')))).toBe('any except lo');
  });
});
