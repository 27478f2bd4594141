import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { familyRecord } from '../src/model/family.js';
import type { Family, Rule } from '../src/model/ir.js';
import { decidingRule, explainPacket } from '../src/packet/explain.js';
import { followPath, modelsOf } from '../src/packet/path.js';
import { boxHas, DIM, pointOf, STATES, type Packet } from '../src/packet/space.js';
import { compile } from '../src/pipeline.js';
import { policyArb } from './helpers/arbitrary.js';
import { Interpreter, type Path } from './helpers/interpreter.js';

/** Every address-looking string of a policy, so that random packets often come from or go to them. */
function addressesIn(value: unknown, out: Set<string> = new Set()): Set<string> {
  const a = typeof value === 'string' ? value.split('/')[0]! : '';
  if (ipaddr.IPv4.isValidFourPartDecimal(a) || (a.includes(':') && ipaddr.IPv6.isValid(a))) out.add(a);
  else if (Array.isArray(value)) for (const v of value) addressesIn(v, out);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) addressesIn(v, out);
  return out;
}

function portsIn(value: unknown, out: Set<number> = new Set()): Set<number> {
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

function packetArb(f: Family, path: Path, addrs: string[], ports: number[], users: string[]): fc.Arbitrary<Packet> {
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
function witnessOf(rule: Rule, base: Packet, f: Family): Packet {
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

describe('the packet model against a plain interpreter of the emitted rules', () => {
  it('gives every random packet of every random policy the verdict the rules give it, on every path and in both families (and so do explain, entry coordinates and a walk that keeps only refusals)', () => {
    let compared = 0;
    const seen = new Set<string>();
    fc.assert(
      fc.property(policyArb, fc.constantFrom<Path>('in', 'out', 'forward'), fc.integer({ min: 0, max: 2 ** 31 }), (policy, path, seed) => {
        const r = compile(stringify(policy), 'policy.yaml');
        if (!r.artifacts || !r.ir) return;
        const addrs = [...addressesIn(policy)];
        const ports = [...portsIn(policy)].filter((p) => p >= 1 && p <= 65535);
        const users = (policy.users ?? []).map((u) => String((u as { user: unknown }).user)).flatMap((u) => (/^\d+-\d+$/.test(u) ? u.split('-') : [u]));
        for (const model of modelsOf(r.ir)) {
          const f = model.family;
          const text = r.artifacts.find((a) => a.file === familyRecord(f).outputFile)!.content;
          const ipsets = r.artifacts.find((a) => a.file === 'ipsets')?.content ?? '';
          const interpreter = new Interpreter(f, text, ipsets);
          const rules = model.ruleset.tables.flatMap((t) => t.chains.flatMap((c) => c.rules));
          const random = fc.sample(packetArb(f, path, addrs, ports, users), { numRuns: 40, seed });
          const packets = [...random, ...random.slice(0, 20).map((p, k) => (rules.length > 0 ? witnessOf(rules[(seed + k * 7) % rules.length]!, p, f) : p))];
          const own = addrs.filter((a) => !a.includes('/') && a.includes(':') === (f === 'ipv6'));
          for (const [k, p] of packets.entries()) {
            // The primary address of its incoming interface, where a redirect in PREROUTING sends
            // it: the address it was sent to, or another (a secondary address, or this host's
            // while the packet was routed through it).
            const primary = k % 2 === 0 || own.length === 0 ? p.dst : own[(seed + k) % own.length]!;
            const point = pointOf(f, p)!.slice();
            point[DIM.primary] = pointOf(f, { ...p, src: primary })![DIM.src]!;
            let outcomes;
            try {
              outcomes = followPath(model, path, point);
            } catch (e) {
              throw new Error(`${f} ${path} ${JSON.stringify(p)}: ${String(e)}`);
            }
            expect(outcomes, JSON.stringify(p)).toHaveLength(1);
            const expected = interpreter.verdict(path, p, primary);
            expect(outcomes[0]!.verdict, `${path} ${JSON.stringify(p)}\n${text}`).toBe(expected);
            // The same packet as it entered, even after a redirect, DNAT or notrack changed it.
            expect(outcomes[0]!.entry).toEqual(point);
            // A walk that keeps only refusals forgets an accepted packet and keeps a refused one.
            expect(followPath(model, path, point, undefined, (_, v) => v !== 'accept').map((o) => o.verdict)).toEqual(expected === 'accept' ? [] : [expected]);
            // explain's trace ends at the rule that decided (or the policy).
            const cases = explainPacket(model, path, p)!;
            const told = cases.find((c) => c.primary === undefined || boxHas([c.primary], [point[DIM.primary]![0]![0]]))!.explanation;
            expect(told.outcome.verdict).toBe(expected);
            const decided = decidingRule(told.outcome.rules);
            const lastRule = [...told.events].reverse().find((e) => e.kind === 'rule' && !e.limited && ['accept', 'drop', 'reject'].includes(e.rule.target.kind));
            if (decided) expect(lastRule && lastRule.kind === 'rule' ? lastRule.rule : undefined).toBe(decided);
            seen.add(`${path} ${expected}`);
            compared++;
          }
        }
      }),
      { numRuns: 300 },
    );
    // Not vacuous: every path saw packets accepted and refused.
    for (const path of ['in', 'out', 'forward']) for (const v of ['accept', 'drop', 'reject']) expect(seen, `${path} ${v}`).toContain(`${path} ${v}`);
    expect(compared).toBeGreaterThan(5000);
  }, 120_000);
});
