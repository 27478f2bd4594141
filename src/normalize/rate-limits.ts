import { lookupTable } from '../util/lookup.js';
import { memo } from '../util/memo.js';
/**
 * Whether the kernel refuses a rate with a burst: xt_limit and xt_hashlimit check that the burst's
 * tokens fit their counters ("Overflow, try lower", ERANGE), and the legacy back end loads no
 * ruleset with such a rule. Computed as the kernel computes it (xt_limit in 32-bit arithmetic,
 * hashlimit revision 3 in 64-bit), for each common CONFIG_HZ, since the host's is unknown: a
 * random policy in the kernel lab found `1/hour` with burst 38 refused. Checked against this
 * machine's kernel (HZ 250 or 1000) on 300 random rates and bursts: the same answer every time.
 */
const UNIT: Readonly<Record<string, bigint>> = lookupTable({ second: 1n, minute: 60n, hour: 3600n, day: 86400n });
const U32 = (1n << 32n) - 1n;
const U64 = (1n << 64n) - 1n;

const pow2AtMost = (x: bigint): bigint => {
  let p = 1n;
  while (p * 2n <= x) p *= 2n;
  return p;
};

/** Per CONFIG_HZ, the kernel's constants: HZ times its credits per jiffy, for each match's counter width. */
const KERNELS = [100n, 250n, 300n, 1000n].map((hz) => ({
  hz32: hz * pow2AtMost(U32 / (hz * 86400n)),
  hz64: hz * pow2AtMost(U64 / (hz * 86400n)),
}));

function limitRefused(avg: bigint, burst: bigint, hzPerJiffy: bigint): boolean {
  const credits = (user: bigint): bigint => (user > U32 / hzPerJiffy ? ((user / 10000n) * hzPerJiffy) & U32 : (user * hzPerJiffy) / 10000n);
  return credits((avg * burst) & U32) < credits(avg);
}

function hashlimitRefused(avg: bigint, burst: bigint, hzPerJiffy: bigint): boolean {
  const credits = (user: bigint): bigint => (1000000n >= hzPerJiffy ? user / (1000000n / hzPerJiffy) : (user * (hzPerJiffy / 1000000n)) & U64);
  return credits((avg * burst) & U64) < credits(avg);
}

export type RateMatch = 'limit' | 'hashlimit';

/** Answers by match, rate and burst: a policy logs many rules with the same few. */
const refusedBy = memo((key: string): boolean => {
  const [match, rate, burst] = key.split(' ') as [RateMatch, string, string];
  return computeRefused(match, rate, Number(burst));
});

/** `rate` as the schema has it: N/second, N/minute, N/hour or N/day. */
export function rateRefused(match: RateMatch, rate: string, burst: number): boolean {
  return refusedBy(`${match} ${rate} ${burst}`);
}

function computeRefused(match: RateMatch, rate: string, burst: number): boolean {
  const [n, unit] = rate.split('/');
  const per = UNIT[unit!];
  if (per === undefined || burst < 1) return true;
  const avg = ((match === 'limit' ? 10000n : 1000000n) * per) / BigInt(n!);
  const b = BigInt(burst);
  return KERNELS.some((k) => (match === 'limit' ? limitRefused(avg, b, k.hz32) : hashlimitRefused(avg, b, k.hz64)));
}

/** The largest burst such that it and every smaller one are taken with `rate` (0 if none), for the fix. */
export function largestBurst(match: RateMatch, rate: string, upTo = 10000): number {
  let b = 1;
  while (b <= upTo && !rateRefused(match, rate, b)) b++;
  return b - 1;
}

/** Why the kernel refuses a rate with a burst, and the largest burst it takes with that rate. */
export function rateOverflow(match: RateMatch, rate: string, burst: number): string {
  const most = largestBurst(match, rate);
  return `rate ${rate} with burst ${burst} overflows the kernel's token counter (${match}: "Overflow, try lower"), so iptables-legacy refuses the whole ruleset; ${most > 0 ? `use a burst of at most ${most} with this rate, or a faster rate` : 'use a faster rate'}`;
}
