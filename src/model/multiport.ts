import type { PortRange } from './ir.js';

/**
 * iptables' multiport match holds at most 15 ports, a range costing two: the IR's port matches
 * are cut to fit it, and the guard multiport-limit holds the output to it.
 */
export const MULTIPORT_SLOTS = 15;
const slots = (r: PortRange): number => (r.lo === r.hi ? 1 : 2);

/** Longer lists become several rules. */
export function chunkPorts(ranges: readonly PortRange[]): (readonly PortRange[])[] {
  let total = 0;
  for (let i = 0; i < ranges.length; i++) total += slots(ranges[i]!);
  if (total <= MULTIPORT_SLOTS) return [ranges];
  const chunks: PortRange[][] = [];
  let current: PortRange[] = [];
  let used = 0;
  for (const r of ranges) {
    if (used + slots(r) > MULTIPORT_SLOTS) {
      chunks.push(current.slice());
      current = [];
      used = 0;
    }
    current.push(r);
    used += slots(r);
  }
  if (current.length > 0) chunks.push(current.slice());
  return chunks;
}
