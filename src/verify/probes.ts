import { familyRecord } from '../model/family.js';
import type { Direction, Family, IntentTest, IR } from '../model/ir.js';
import { addressText } from '../values/addresses.js';
import { nameOf, ownerName } from '../analysis/describe.js';
import { connections } from '../analysis/intent.js';
import { followPath, modelsOf, type Outcome } from '../packet/path.js';
import { DIM, IFNAMSIZ, ifaceSet, isFull, NAME_BASE, pointOf, type Box } from '../packet/space.js';

/** One real connection that stands for a test in one family, with the model's verdict for it. */
export interface Probe {
  readonly test: IntentTest;
  readonly family: Family;
  readonly direction: 'in' | 'out';
  readonly proto: 'tcp' | 'udp';
  readonly src: string;
  readonly dst: string;
  readonly port: number;
  /** This host's interface the connection uses (its name in the lab). */
  readonly iface: string;
  /** For a connection this host opens: the uid (a number) or user name to open it as. */
  readonly user?: string;
  readonly group?: string;
  readonly model: Outcome['verdict'];
}

export interface Unsent {
  readonly test: IntentTest;
  readonly family: Family;
  readonly why: string;
}

/** Addresses for a side a test leaves open (documentation ranges): this host's, and the other end's. */
const ANY_ADDRESS: Readonly<Record<Family, { host: string; remote: string; spare: string }>> = {
  ipv4: { host: '192.0.2.1', remote: '198.51.100.10', spare: '192.0.2.254' },
  ipv6: { host: '2001:db8::1', remote: '2001:db8:ff::10', spare: '2001:db8::fe' },
};
const PROTOS: Readonly<Record<string, 'tcp' | 'udp'>> = { '6': 'tcp', '17': 'udp' };

/**
 * For each test and family, the first connection of its set as a concrete packet (an address
 * of each side, the first port, a real interface name), and what the model says of that packet.
 * Tests the lab cannot send (forwarded or port-forwarded, ICMP, loopback, a user it cannot become) are listed
 * with the reason.
 */
export function probesOf(ir: IR): { probes: Probe[]; unsent: Unsent[] } {
  const probes: Probe[] = [];
  const unsent: Unsent[] = [];
  for (const model of modelsOf(ir)) {
    const f = model.family;
    for (const test of ir.tests) {
      const matches = test.matches[f];
      if (matches === undefined) continue;
      const skip = (why: string): void => void unsent.push({ test, family: f, why });
      if (test.direction === 'forward') {
        skip('forwarded connections are not sent yet');
        continue;
      }
      const box = connections(model, test.direction, matches)[0]!;
      const proto = PROTOS[String(box[DIM.proto][0]![0])];
      if (proto === undefined && !isFull(box[DIM.proto], DIM.proto)) {
        skip('only tcp and udp connections are sent');
        continue;
      }
      const iface = ifaceOf(box[test.direction === 'in' ? DIM.in : DIM.out]!);
      if (iface === null) {
        skip('loopback connections are not sent');
        continue;
      }
      const owner = test.direction === 'out' ? ownerOf(box) : {};
      if (owner === null) {
        skip('a user or group range is not sent');
        continue;
      }
      const dport = box[DIM.dport];
      const port = isFull(dport, DIM.dport) ? 9 : Number(dport[0]![0] === 0n ? 1n : dport[0]![0]);
      const ends = distinct(f, test.direction, box);
      const packet = {
        ...ends,
        proto: proto ?? 'tcp',
        port,
        iface,
        ...owner,
      };
      const point = pointOf(f, {
        src: packet.src,
        dst: packet.dst,
        proto: packet.proto === 'tcp' ? 6 : 17,
        dport: port,
        ...(test.direction === 'in' ? { in: iface } : { out: iface }),
        ...(packet.user !== undefined ? { uid: packet.user } : {}),
        ...(packet.group !== undefined ? { gid: packet.group } : {}),
        state: 'NEW',
      });
      const outcomes = followPath(model, test.direction, point!);
      const outcome = outcomes[0]!;
      // Redirected, its fate can turn on the incoming interface's primary address, which the lab's
      // interface does not choose the way the host's does.
      if (outcomes.some((o) => o.verdict !== outcome.verdict)) {
        skip("connections whose verdict depends on the incoming interface's primary address (where a redirect sends them) are not sent");
        continue;
      }
      if (outcome.rules.some((r) => r.target.kind === 'dnat')) {
        skip('connections a port forward sends on to another host are not sent yet');
        continue;
      }
      probes.push({ test, family: f, direction: test.direction, ...packet, model: outcome.verdict });
    }
  }
  return { probes, unsent };
}

/** The two ends' addresses, never the same one (a test from 2001:db8::1 to this host, whose default that is). */
function distinct(f: Family, direction: 'in' | 'out', box: Box): { src: string; dst: string } {
  const [srcFallback, dstFallback] = direction === 'in' ? [ANY_ADDRESS[f].remote, ANY_ADDRESS[f].host] : [ANY_ADDRESS[f].host, ANY_ADDRESS[f].remote];
  const src = addressOf(f, box[DIM.src], srcFallback);
  const dst = addressOf(f, box[DIM.dst], dstFallback);
  if (src !== dst) return { src, dst };
  return isFull(box[DIM.dst], DIM.dst) ? { src, dst: ANY_ADDRESS[f].spare } : { src: ANY_ADDRESS[f].spare, dst };
}

/** A usable address of a set: its first host (past a network's own address), or `fallback` for any. */
function addressOf(f: Family, set: Box[number], fallback: string): string {
  if (isFull(set, DIM.src)) return fallback;
  const [lo, hi] = set[0]!;
  return addressText(f, lo < hi ? lo + 1n : lo);
}

/** A real interface name in the set: eth0 when the test names none, never loopback (null). */
function ifaceOf(set: Box[number]): string | null {
  const lo = ifaceSet('lo')[0]![0];
  const eth0 = ifaceSet('eth0')[0]![0];
  if (set.some(([a, b]) => a <= eth0 && eth0 <= b)) return 'eth0';
  const [first] = set[0]!;
  if (first === lo) return null;
  const name = nameOf(first, IFNAMSIZ);
  return name === '' ? 'eth0' : name;
}

/** The user or group a test names, as the lab runs a client: an id, or a name; null for a range. */
function ownerOf(box: Box): { user?: string; group?: string } | null {
  const one = (d: number): string | undefined | null => {
    const set = box[d]!;
    if (isFull(set, d)) return undefined;
    const [lo, hi] = set[0]!;
    if (set.length !== 1 || lo !== hi) return null;
    return lo < NAME_BASE ? String(lo) : ownerName(lo);
  };
  const user = one(DIM.uid);
  const group = one(DIM.gid);
  if (user === null || group === null) return null;
  return { ...(user !== undefined ? { user } : {}), ...(group !== undefined ? { group } : {}) };
}

export const probeText = (p: Probe): string =>
  `${p.proto} ${p.src} -> ${familyRecord(p.family).portedAddress[0]}${p.dst}${familyRecord(p.family).portedAddress[1]}:${p.port} ${p.direction === 'in' ? 'in' : 'out'} ${p.iface}${p.user !== undefined ? ` user ${p.user}` : ''}${p.group !== undefined ? ` group ${p.group}` : ''} (${familyRecord(p.family).label})`;

export type { Direction };
