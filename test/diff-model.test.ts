import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FAMILY_NAMES } from '../src/model/family.js';
import type { IR } from '../src/model/ir.js';
import { changedPackets } from '../src/analysis/diff.js';
import { followPath, modelsOf } from '../src/packet/path.js';
import { boxHas, DIM, pointOf, copyBox } from '../src/packet/space.js';
import { compile } from '../src/pipeline.js';
import { policyArb } from './helpers/arbitrary.js';
import type { Path } from './helpers/interpreter.js';
import { addressesIn, packetArb, portsIn, witnessOf } from './helpers/packets.js';

const irOf = (policy: unknown): IR | undefined => compile(stringify(policy), 'policy.yaml', 'policy.yaml', { emit: false }).ir;

/**
 * diff's definition: a packet is in a change exactly when the two policies' models give it
 * different verdicts, and then in one change only, which says both. Random pairs of policies (every rule changed,
 * as in a rewrite) and one policy against itself with one section dropped (a small change).
 */
describe('diff against the packet model, packet by packet', () => {
  it('puts every packet whose verdict differs in a change saying both verdicts, and no other packet', () => {
    let differ = 0;
    let same = 0;
    fc.assert(
      fc.property(policyArb, policyArb, fc.integer({ min: 0, max: 2 ** 31 }), fc.boolean(), (p, q, seed, small) => {
        const second = small ? Object.fromEntries(Object.entries(p).filter(([k]) => k !== Object.keys(p)[seed % Object.keys(p).length] || k === 'version')) : q;
        const a = irOf(p);
        const b = irOf(second);
        if (a === undefined || b === undefined) return;
        const changes = changedPackets(a, b);
        const addrs = [...addressesIn(p), ...addressesIn(second)];
        const ports = [...portsIn(p), ...portsIn(second)].filter((x) => x >= 1 && x <= 65535);
        const users = [p, second].flatMap((x) => ((x as { users?: unknown[] }).users ?? []).map((u) => String((u as { user: unknown }).user))).flatMap((u) => (/^\d+-\d+$/.test(u) ? u.split('-') : [u]));
        for (const family of FAMILY_NAMES) {
          const ma = modelsOf(a).find((m) => m.family === family);
          const mb = modelsOf(b).find((m) => m.family === family);
          if (ma === undefined || mb === undefined) continue;
          const rules = [...ma.ruleset.tables, ...mb.ruleset.tables].flatMap((t) => t.chains.flatMap((c) => c.rules));
          for (const path of ['in', 'out', 'forward'] as const satisfies readonly Path[]) {
            const random = fc.sample(packetArb(family, path, addrs, ports, users), { numRuns: 20, seed: seed + path.length });
            const packets = [...random, ...random.slice(0, 12).map((x, k) => (rules.length > 0 ? witnessOf(rules[(seed + k * 5) % rules.length]!, x, family) : x))];
            for (const packet of packets) {
              // A connection on lo is this host's own: diff says it on the path out only.
              if (path === 'in' && packet.in === 'lo') continue;
              const point = copyBox(pointOf(family, packet)!);
              point[DIM.primary] = point[DIM.dst];
              const before = followPath(ma, path, point);
              const after = followPath(mb, path, point);
              expect(before).toHaveLength(1);
              expect(after).toHaveLength(1);
              const holding = changes.filter((c) => c.family === family && c.direction === path && boxHas(c.box, point.map((d) => d[0]![0])));
              const told = `${family} ${path} ${JSON.stringify(packet)}`;
              if (before[0]!.verdict === after[0]!.verdict) {
                expect(holding, told).toEqual([]);
                same++;
              } else {
                expect(holding.map((c) => [c.before, c.after]), told).toEqual([[before[0]!.verdict, after[0]!.verdict]]);
                differ++;
              }
            }
          }
        }
      }),
      { numRuns: 80 },
    );
    // Not vacuous: many packets changed verdict, and many did not.
    expect(differ).toBeGreaterThan(300);
    expect(same).toBeGreaterThan(300);
  }, 300_000);

  it('says a packet once when a port forward it did not take is replaced by a redirect (the starts were disjoint only in what nat did)', () => {
    const a = irOf({ version: 1, forwards: [{ proto: 'udp', port: 1, to: ['10.9.0.5', 'fd00:9::5'], interface: 'eth0', from: ['2001:db8::/32'] }] })!;
    const b = irOf({ version: 1, redirects: [{ proto: 'udp', port: 2, 'to-port': 1, 'hide-target': true }] })!;
    const point = pointOf('ipv6', { src: '2001:db8::', dst: 'fd00:9::5', proto: 17, dport: 1, sport: 1, in: 'eth0', state: 'INVALID', hoplimit: 64 })!.map((d) => d[0]![0]);
    const holding = changedPackets(a, b).filter((c) => c.family === 'ipv6' && c.direction === 'in' && boxHas(c.box, point));
    expect(holding.map((c) => [c.before, c.after])).toEqual([['accept', 'reject']]);
  });

  it("follows a redirect's connections to the address it really gives them: the primary address, and loopback (found by a no-context review)", () => {
    const ir = (extra: string[], redirect: string) => compile(['version: 1', 'defaults: { input: accept, established: false }', 'host:', '  addresses: [192.0.2.7, 203.0.113.1]', 'redirects:', `  - ${redirect}`, ...extra, ''].join('\n'), 'p.yaml', 'p.yaml', { emit: false }).ir!;
    const point = (p: Parameters<typeof pointOf>[1], primary: string) => {
      const box = copyBox(pointOf('ipv4', p)!);
      box[DIM.primary] = pointOf('ipv4', { ...p, src: primary })![DIM.src];
      return box.map((d) => d[0]![0]);
    };
    const changes = (a: IR, b: IR, direction: string, at: bigint[]) => changedPackets(a, b).filter((c) => c.family === 'ipv4' && c.direction === direction && boxHas(c.box, at)).map((c) => [c.before, c.after]);
    // PREROUTING: to 203.0.113.1:8445, redirected to port 8443 of the primary address; a reject of 8443 to 192.0.2.7 now refuses it when that is the primary.
    const pre = '{ name: red, port: 8445, to-port: 8443, local-address: 203.0.113.1, local: false, hide-target: false }';
    const block = ['inbound:', '  - { name: block-primary, port: 8443, to: 192.0.2.7, action: reject, family: ipv4 }'];
    const incoming = { src: '198.51.100.9', dst: '203.0.113.1', proto: 6, dport: 8445, sport: 40000, in: 'eth0', state: 'NEW' as const, hoplimit: 64 };
    expect(changes(ir([], pre), ir(block, pre), 'in', point(incoming, '192.0.2.7'))).toEqual([['accept', 'reject']]);
    expect(changes(ir([], pre), ir(block, pre), 'in', point(incoming, '203.0.113.1'))).toEqual([]);
    // nat OUTPUT: this host's own connection to 192.0.2.7:8445 goes to 127.0.0.1:8443, refused there now.
    const local = '{ name: red, port: 8445, to-port: 8443, local: true, hide-target: false, local-address: 192.0.2.7 }';
    const own = { src: '192.0.2.7', dst: '192.0.2.7', proto: 6, dport: 8445, sport: 40000, out: 'lo', uid: '1000', gid: '1000', state: 'NEW' as const, hoplimit: 64 };
    expect(changes(ir([], local), ir(['inbound:', '  - { name: no-lo-8443, port: 8443, to: 127.0.0.1, action: reject }'], local), 'out', point(own, '192.0.2.7'))).toEqual([['accept', 'reject']]);
  });

  it("says a connection on lo once, as this host's own (out lo): an OUTPUT rule decides it first, which the path in did not see", () => {
    const a = irOf({ version: 1 })!;
    const b = irOf({ version: 1, defaults: { established: false }, outbound: [{ name: 'no web', port: 80, action: 'reject' }] })!;
    const packet = { src: '127.0.0.1', dst: '127.0.0.1', proto: 6, dport: 80, sport: 40000, state: 'NEW' as const, hoplimit: 64 };
    const at = (p: Parameters<typeof pointOf>[1]) => pointOf('ipv4', p)!.map((d) => d[0]![0]);
    const changes = changedPackets(a, b).filter((c) => c.family === 'ipv4');
    expect(changes.filter((c) => c.direction === 'out' && boxHas(c.box, at({ ...packet, out: 'lo', uid: '1000', gid: '1000' }))).map((c) => [c.before, c.after])).toEqual([['accept', 'reject']]);
    expect(changes.filter((c) => c.direction === 'in' && boxHas(c.box, at({ ...packet, in: 'lo' })))).toEqual([]);
    // The model agrees: asked in on lo, it is followed from OUTPUT, and refused there.
    const inLo = pointOf('ipv4', { ...packet, in: 'lo' })!;
    expect(followPath(modelsOf(b).find((m) => m.family === 'ipv4')!, 'in', inLo).map((o) => o.verdict)).toEqual(['reject']);
  });

  it("follows packets of any state a NOTRACK makes UNTRACKED onto a changed rule of state UNTRACKED (found by the property test)", () => {
    const p = { version: 1, defaults: { output: 'reject', deny: 'drop', established: false }, users: [{ user: 'nobody', except: [{ port: [1] }] }], notrack: [{ port: 1, to: '1.0.0.1/8' }] };
    const a = irOf(p)!;
    const b = irOf({ ...p, users: [] })!;
    // A reply of the notracked service (from its port, 1) this user sends: RELATED, made UNTRACKED in raw.
    const point = pointOf('ipv4', { src: '1.0.0.0', dst: '1.1.0.1', proto: 17, dport: 1, sport: 1, out: 'wg0', state: 'RELATED', uid: 'nobody', gid: 'nobody', hoplimit: 255 })!.map((d) => d[0]![0]);
    const holding = changedPackets(a, b).filter((c) => c.family === 'ipv4' && c.direction === 'out' && boxHas(c.box, point));
    expect(holding.map((c) => [c.before, c.after])).toEqual([['drop', 'accept']]);
  });

  it('follows a packet sent out lo from any source where SNAT gives it the source a changed INPUT rule matches', () => {
    const base = ['version: 1', 'host: { addresses: [10.1.0.1] }', 'defaults: { input: drop, established: false }', 'snat:', '  - { name: lo-snat, out: lo, to-source: 10.1.0.1, family: ipv4 }', 'inbound:', '  - { name: ssh, port: 22 }'];
    const a = compile([...base, ''].join('\n'), 'a.yaml', 'a.yaml', { emit: false }).ir!;
    const b = compile([...base, '  - { name: dns, port: 53, from: 10.1.0.0/24, others: pass }', ''].join('\n'), 'b.yaml', 'b.yaml', { emit: false }).ir!;
    const point = pointOf('ipv4', { src: '127.0.0.1', dst: '127.0.0.1', proto: 6, dport: 53, sport: 40000, out: 'lo', uid: '1000', gid: '1000', state: 'NEW', hoplimit: 64 })!.map((d) => d[0]![0]);
    const holding = changedPackets(a, b).filter((c) => c.family === 'ipv4' && c.direction === 'out' && boxHas(c.box, point));
    expect(holding.map((c) => [c.before, c.after])).toEqual([['drop', 'accept']]);
  });
});

