import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { familyRecord } from '../../src/model/family.js';
import type { Family, Rule } from '../../src/model/ir.js';
import { STATES, type Packet } from '../../src/packet/space.js';
import type { Path } from './interpreter.js';

/** Every address-looking string of a policy, so that random packets often come from or go to them. */
export function addressesIn(value: unknown, out: Set<string> = new Set()): Set<string> {
  const a = typeof value === 'string' ? value.split('/')[0]! : '';
  if (ipaddr.IPv4.isValidFourPartDecimal(a) || (a.includes(':') && ipaddr.IPv6.isValid(a))) out.add(a);
  else if (Array.isArray(value)) for (const v of value) addressesIn(v, out);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) addressesIn(v, out);
  return out;
}

export function portsIn(value: unknown, out: Set<number> = new Set()): Set<number> {
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if ((k === 'port' || k === 'to-port') && (typeof v === 'number' || typeof v === 'string' || Array.isArray(v))) {
        for (const x of [v].flat()) {
          const [lo, hi] = String(x).split('-').map(Number);
          out.add(lo!);
          if (hi !== undefined) out.add(hi + 1);
        }
      } else portsIn(v, out);
    }
  }
  return out;
}

const OTHER: Record<Family, string> = { ipv4: '198.51.100.77', ipv6: '2001:db8:ffff::77' };

export function packetArb(f: Family, path: Path, addrs: string[], ports: number[], users: string[]): fc.Arbitrary<Packet> {
  const ofFamily = addrs.filter((a) => (f === 'ipv6') === a.includes(':'));
  // Mostly what the policy names: a packet nothing matches shows little.
  const addr = ofFamily.length > 0 ? fc.oneof({ arbitrary: fc.constantFrom(...ofFamily), weight: 4 }, { arbitrary: fc.constant(OTHER[f]), weight: 1 }) : fc.constant(OTHER[f]);
  const rec = familyRecord(f);
  const icmp = fc.constantFrom(...Object.values(rec.icmp).map((t) => ({ type: t.type, code: t.code ?? 0 })), { type: t0(rec), code: 7 });
  // The policy's names, a wildcard's own prefix (`br+` matches `br`), and others.
  const iface = fc.constantFrom('eth0', 'eth0', 'eth1', 'br', 'br0', 'br-x1', 'lo', 'wg0');
  return fc.record({
    src: addr,
    dst: addr,
    proto: fc.constantFrom(6, 6, 17, 132, rec.icmpNumber),
    port: ports.length > 0 ? fc.oneof({ arbitrary: fc.constantFrom(...ports), weight: 4 }, { arbitrary: fc.constantFrom(22, 80, 443, 8443, 65535), weight: 1 }) : fc.constantFrom(22, 80, 443, 8443, 65535),
    icmp,
    in: iface,
    out: iface,
    state: fc.constantFrom<(typeof STATES)[number]>('NEW', 'NEW', 'NEW', 'ESTABLISHED', 'RELATED', 'INVALID'),
    uid: fc.constantFrom(...users, '0', '1000', '1005', 'nobody', 'www-data'),
    hoplimit: fc.constantFrom(64, 255, 1),
    sport: ports.length > 0 ? fc.oneof(fc.constantFrom(...ports), fc.constant(40000)) : fc.constant(40000),
  }).map((r): Packet => ({
    src: r.src,
    dst: r.dst,
    proto: r.proto,
    ...(r.proto === rec.icmpNumber ? { icmp: r.icmp } : { dport: r.port, sport: r.sport }),
    ...(path !== 'out' ? { in: r.in } : {}),
    ...(path !== 'in' ? { out: r.out } : {}),
    state: r.state,
    ...(path === 'out' ? { uid: r.uid, gid: r.uid } : {}),
    hoplimit: r.hoplimit,
  }));
}
/**
 * A packet that a rule of the IR matches, other fields random: a packet for every rule, so that
 * rare paths (a redirect's port under a drop policy, an owner, a wildcard interface) are met.
 */
export function witnessOf(rule: Rule, base: Packet, f: Family): Packet {
  const p: Record<string, unknown> = { ...base };
  for (const m of rule.matches) {
    switch (m.kind) {
      case 'src':
      case 'dst':
        if (!m.negate) p[m.kind] = m.cidr.split('/')[0];
        break;
      case 'in':
      case 'out':
        if (p[m.kind] !== undefined) p[m.kind] = m.iface.endsWith('+') ? `${m.iface.slice(0, -1)}7` : m.iface;
        break;
      case 'proto':
        p.proto = m.proto === 'icmp' ? familyRecord(f).icmpNumber : { tcp: 6, udp: 17, sctp: 132 }[m.proto];
        if (m.proto === 'icmp') delete p.dport;
        else p.dport ??= 1;
        break;
      case 'dports':
        p.dport = m.ports[0]!.lo;
        delete p.icmp;
        break;
      case 'sports':
        p.sport = m.ports[0]!.lo;
        p.dport ??= 1;
        delete p.icmp;
        break;
      case 'ctstate':
        if (!m.negate && m.states.includes('NEW')) p.state = 'NEW';
        break;
      case 'owner':
        if (p.uid !== undefined) p[m.by] = m.id.split('-')[0];
        break;
      default:
        break;
    }
  }
  return p as unknown as Packet;
}
const t0 = (rec: ReturnType<typeof familyRecord>): number => Object.values(rec.icmp)[0]!.type;

