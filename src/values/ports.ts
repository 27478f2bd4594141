import type { PortRange } from '../model/ir.js';

/** The range a port item stands for, or why it is none. */
export function readPort(item: number | string): PortRange | string {
  if (typeof item === 'number') {
    return Number.isInteger(item) && item >= 1 && item <= 65535 ? { lo: item, hi: item } : `port ${item} is outside 1-65535`;
  }
  const m = /^([0-9]+)-([0-9]+)$/.exec(item);
  if (!m) return `'${item}' is not a port or a range like "8000-8010"`;
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  if (lo < 1 || hi > 65535) return `port range '${item}' is outside 1-65535`;
  if (lo > hi) return `port range '${item}' is reversed; write "${hi}-${lo}"`;
  return { lo, hi };
}

/** Sorted, with overlapping and adjacent ranges joined: fewer multiport slots, same meaning. */
export function normalizePorts(ranges: readonly PortRange[]): PortRange[] {
  if (ranges.length === 1) return [ranges[0]!];
  const sorted = [...ranges].sort((a, b) => a.lo - b.lo || a.hi - b.hi);
  const out: { lo: number; hi: number }[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.lo <= last.hi + 1) last.hi = Math.max(last.hi, r.hi);
    else out.push({ lo: r.lo, hi: r.hi });
  }
  // Exact length: the IR keeps these, and a pushed-to array keeps room for 17.
  return out.slice();
}
