import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Family } from '../../src/model/ir.js';
import { followPath, modelsOf, relatedBy } from '../../src/packet/path.js';
import { DIM, pointOf, type Box } from '../../src/packet/space.js';
import { compile } from '../../src/pipeline.js';
import { kernelLab } from '../../src/verify/netns.js';
import { addr, withLab, type Host } from '../helpers/lab.js';
import { FTP_CLIENT, FTP_SERVER, SOURCED_CLIENT } from '../helpers/router-lab.js';

/**
 * The kernel is the judge of the packet model: random policies written for the lab's addresses
 * are loaded into the server namespace for real, and real connections from the clients meet the
 * verdict the model gives their first packet (and their later packets, and the server's
 * replies). Accepted: the server's answer (from the redirect's target port, if redirected);
 * rejected: refused; dropped: a timeout. Outbound stays open (output accept, no outbound rules):
 * a REJECT's own reset leaves through OUTPUT, which is the model-versus-interpreter test's
 * ground. Without the lab, load.test.ts reports the skip (or, under CI=true, the failure).
 */
const lab = kernelLab();
const runs = Number(process.env.IPFENCE_MODEL_LAB_RUNS ?? 12);
const PORTS = [22, 80, 443, 5432, 8443, 8445];
const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];

const address = fc.constantFrom('192.0.2.2', '192.0.2.3', '192.0.2.0/24', '192.0.2.2/31', '203.0.113.9', '2001:db8:99::2', '2001:db8:99::3', '2001:db8:99::/64', '2001:db8:99::2/127', '2001:db8:5::9');
const addrs = fc.uniqueArray(address, { minLength: 1, maxLength: 3 });
const port = fc.oneof(fc.constantFrom(...PORTS), fc.constant('440-450'));
const proto = fc.constantFrom('tcp', 'udp', ['tcp', 'udp']);
const rule = fc.record(
  { port: fc.oneof(port, fc.uniqueArray(fc.constantFrom(...PORTS), { minLength: 1, maxLength: 3 })), proto, from: addrs, to: fc.constantFrom('192.0.2.1', '2001:db8:99::1', '192.0.2.0/24'), interface: fc.constantFrom('eth0', 'eth+', 'eth1'), except: addrs, action: fc.constantFrom('allow', 'deny', 'drop', 'reject'), others: fc.constantFrom('deny', 'drop', 'pass') },
  { requiredKeys: ['port'] },
).map((r) => {
  const out: Record<string, unknown> = { ...r };
  if (out.others !== undefined && (out.from === undefined || (out.action ?? 'allow') !== 'allow')) delete out.others;
  return out;
});
const policyArb = fc.record({
  version: fc.constant(1),
  defaults: fc.record({ input: fc.constantFrom('accept', 'drop', 'reject'), deny: fc.constantFrom('drop', 'reject'), order: fc.constantFrom('allow-first', 'as-written') }, { requiredKeys: [] }),
  inbound: fc.array(rule, { maxLength: 5 }),
  redirects: fc.array(fc.record({ proto: fc.constantFrom('tcp', 'udp'), port: fc.constantFrom(...PORTS), 'to-port': fc.constantFrom(...PORTS), from: addrs, interface: fc.constantFrom('eth0', 'eth+'), local: fc.constant(false), 'hide-target': fc.boolean() }, { requiredKeys: ['port', 'to-port', 'local', 'hide-target'] }), { maxLength: 1 }),
});

/** What a connection should see, by the model: null where its packets are decided differently by a field the model leaves open (the reply's port). */
function expected(model: ReturnType<typeof modelsOf>[number], f: Family, client: Host, server: Host, proto: 'tcp' | 'udp', dport: number): string | null {
  const number = proto === 'tcp' ? 6 : 17;
  const first = followPath(model, 'in', pointOf(f, { src: addr(client, f), dst: addr(server, f), proto: number, dport, in: 'eth0', state: 'NEW' })!);
  if (first.length !== 1) return null;
  const o = first[0]!;
  if (o.verdict === 'drop') return 'timeout';
  if (o.verdict === 'reject') return 'refused';
  const answering = Number(o.box[DIM.dport]![0]![0]);
  // Later packets of the connection, with the translation conntrack keeps: ESTABLISHED, to the port they arrive at.
  const later: Box = o.box.slice();
  later[DIM.state] = [[1n, 1n]];
  const rest = followPath(model, 'in', later);
  if (rest.some((x) => x.verdict !== 'accept')) return rest.every((x) => x.verdict !== 'accept') ? 'timeout' : null;
  return `srv:${answering}`;
}

describe.runIf(lab.ok)('the kernel gives real connections the verdicts of the packet model', () => {
  it.each(lab.ok ? lab.backends : [])(`%s back end, both families (${runs} random policies)`, async (backend) => {
    let probed = 0;
    const outcomes = new Set<string>();
    await withLab(async (l) => {
      await l.serve(l.server, PORTS.flatMap((p) => [`tcp:${p}`, `udp:${p}`]));
      const policies = fc.sample(policyArb, { numRuns: runs * 4, seed: Number(process.env.IPFENCE_SEED ?? 20261203) });
      let loaded = 0;
      for (const [k, policy] of policies.entries()) {
        if (loaded >= runs) break;
        const r = compile(stringify(policy), 'lab.yaml');
        if (!r.artifacts || !r.ir || r.artifacts.some((a) => a.file === 'ipsets')) continue;
        l.load(backend, r.artifacts);
        loaded++;
        const models = modelsOf(r.ir);
        for (const f of FAMILIES) {
          const model = models.find((m) => m.family === f)!;
          for (let j = 0; j < 4; j++) {
            const client = (k + j) % 2 === 0 ? l.c1 : l.c2;
            const proto = (k * 3 + j) % 3 === 2 ? 'udp' : 'tcp';
            const dport = PORTS[(k * 5 + j * 3) % PORTS.length]!;
            const want = expected(model, f, client, l.server, proto, dport);
            if (want === null) continue;
            const got = l.connect(client, addr(l.server, f), dport, { proto, timeoutMs: 400 });
            expect(got, `${backend} ${f} ${client.name} -> ${proto}/${dport}\n${stringify(policy)}`).toBe(want);
            outcomes.add(want === 'timeout' || want === 'refused' ? want : 'answered');
            probed++;
          }
        }
      }
      expect(loaded).toBe(runs);
    });
    // Not vacuous: connections were answered, refused and timed out.
    expect([...outcomes].sort()).toEqual(['answered', 'refused', 'timeout']);
    expect(probed).toBeGreaterThan(runs * 4);
  }, 300_000);
});

/**
 * The same judge on the paths an inbound probe does not take: packets this host sends from a
 * notrack service's port (as a blocked and an unblocked uid, to hosts outbound rules name), whose
 * answers come back untracked or established, and an FTP data connection, which is RELATED only
 * where a helper rule watched its control connection. Outcomes are answered or not (the errno
 * of a refused local send is the socket's business, not the model's).
 */
const peer = fc.constantFrom('192.0.2.2', '192.0.2.3', '2001:db8:99::2', '2001:db8:99::3', '192.0.2.0/24', '2001:db8:99::/64');
const peers = fc.uniqueArray(peer, { minLength: 1, maxLength: 2 });
const SERVICE = fc.constantFrom({ port: 8125, proto: 'udp' }, { port: 8080, proto: 'tcp' });
const pathsArb = fc.record({
  version: fc.constant(1),
  host: fc.constant({ addresses: ['192.0.2.1', '2001:db8:99::1'] }),
  defaults: fc.record({ input: fc.constantFrom('accept', 'drop', 'reject'), output: fc.constantFrom('accept', 'drop', 'reject'), 'drop-invalid': fc.boolean(), order: fc.constant('as-written') }, { requiredKeys: ['input', 'output'] }),
  users: fc.constantFrom([], [{ name: 'blocked', user: 1000 }]),
  outbound: fc.array(fc.record({ action: fc.constantFrom('allow', 'deny', 'reject'), to: peers, proto: fc.constantFrom('tcp', 'udp') }, { requiredKeys: ['action', 'to'] }), { maxLength: 2 }),
  inbound: fc.array(fc.record({ proto: fc.constantFrom('tcp', 'udp'), port: fc.constantFrom(8125, 8080, 21, 50021), from: peers, action: fc.constantFrom('allow', 'deny') }, { requiredKeys: ['proto', 'port'] }), { maxLength: 4 }),
  notrack: fc.array(fc.tuple(SERVICE, fc.record({ from: peers, interface: fc.constantFrom('eth0', 'eth1') }, { requiredKeys: [] })).map(([a, b]) => ({ ...a, ...b })), { maxLength: 1 }),
  helpers: fc.array(fc.record({ helper: fc.constant('ftp'), from: peers, interface: fc.constantFrom('eth0', 'eth1') }, { requiredKeys: ['helper'] }), { maxLength: 1 }),
});

type Model = ReturnType<typeof modelsOf>[number];
const answered = (o: { verdict: string }[]): 'answered' | 'blocked' | null => (o.length !== 1 ? null : o[0]!.verdict === 'accept' ? 'answered' : 'blocked');

/** A datagram or connection this host sends from `sport` as `uid`, and the answer's way back. */
function sentFromPort(model: Model, f: Family, here: string, there: string, proto: 'tcp' | 'udp', sport: number, dport: number, uid: number): 'answered' | 'blocked' | null {
  const number = proto === 'tcp' ? 6 : 17;
  const out = followPath(model, 'out', pointOf(f, { src: here, dst: there, proto: number, sport, dport, out: 'eth0', uid: String(uid), state: 'NEW' })!);
  const first = answered(out);
  if (first !== 'answered') return first;
  const untracked = out[0]!.rules.some((r) => r.target.kind === 'notrack');
  // Tracked, the answer is ESTABLISHED. Untracked, conntrack has no entry for it: raw's notrack
  // makes it UNTRACKED, or a UDP answer is NEW (a TCP one would be INVALID, then picked up: left open).
  const back = followPath(model, 'in', pointOf(f, { src: there, dst: here, proto: number, sport: dport, dport: sport, in: 'eth0', state: untracked ? 'NEW' : 'ESTABLISHED' })!);
  if (untracked && !(back.length === 1 && back[0]!.rules.some((r) => r.target.kind === 'notrack')) && proto === 'tcp') return null;
  return answered(back);
}

/** A passive FTP exchange to this host: its data connection is RELATED where a helper rule got the control connection. */
function ftpData(model: Model, f: Family, client: string, here: string): 'answered' | 'blocked' | null {
  const control = pointOf(f, { src: client, dst: here, proto: 6, dport: 21, in: 'eth0', state: 'NEW' })!;
  const ctl = answered(followPath(model, 'in', control));
  if (ctl !== 'answered') return ctl;
  const watched = model.decide('raw', 'PREROUTING', control).some((d) => d.rules[0]?.target.kind === 'helper');
  const data = pointOf(f, { src: client, dst: here, proto: 6, dport: 50021, in: 'eth0', state: watched ? 'RELATED' : 'NEW' })!;
  // The model's own account of what a helper makes RELATED covers every connection the kernel relates.
  if (watched) expect(relatedBy(model, data).length, 'relatedBy knows the helper').toBeGreaterThan(0);
  return answered(followPath(model, 'in', data));
}

describe.runIf(lab.ok)('the kernel and the model agree on a notrack service\'s source port and on RELATED through an FTP helper', () => {
  it.each(lab.ok ? lab.backends : [])(`%s back end, both families (${runs} random policies)`, async (backend) => {
    const seen = new Set<string>();
    await withLab(async (l) => {
      await l.serve(l.c1, ['tcp:7000', 'udp:7001']);
      await l.serve(l.c2, ['tcp:7000', 'udp:7001']);
      await l.startFtp();
      const policies = fc.sample(pathsArb, { numRuns: runs * 4, seed: Number(process.env.IPFENCE_SEED ?? 20261207) });
      let loaded = 0;
      for (const [k, policy] of policies.entries()) {
        if (loaded >= runs) break;
        const r = compile(stringify(policy), 'paths.yaml');
        if (!r.artifacts || !r.ir) continue;
        l.load(backend, r.artifacts);
        // The probes reuse one source port: the last policy's entries would make them ESTABLISHED.
        for (const f of FAMILIES) l.server.ns.exec(['conntrack', '-F', '-f', f]);
        loaded++;
        const models = modelsOf(r.ir);
        const service = policy.notrack[0] ?? { port: 8125, proto: 'udp' };
        for (const f of FAMILIES) {
          const model = models.find((m) => m.family === f)!;
          const peerHost = k % 2 === 0 ? l.c1 : l.c2;
          const proto = service.proto as 'tcp' | 'udp';
          for (const uid of [1000, 2000]) {
            const want = sentFromPort(model, f, addr(l.server, f), addr(peerHost, f), proto, service.port, proto === 'tcp' ? 7000 : 7001, uid);
            if (want === null) continue;
            const got = l.sendFrom(l.server, addr(peerHost, f), proto === 'tcp' ? 7000 : 7001, proto, service.port, uid);
            expect(got === `${peerHost.name}:${proto === 'tcp' ? 7000 : 7001}` ? 'answered' : 'blocked', `${backend} ${f} uid ${uid} from ${proto}/${service.port} to ${peerHost.name} (${got})\n${stringify(policy)}`).toBe(want);
            seen.add(`sent ${want}`);
          }
          const ftpClient = k % 2 === 0 ? l.c2 : l.c1;
          const want = ftpData(model, f, addr(ftpClient, f), addr(l.server, f));
          if (want === null) continue;
          const got = l.ftpFrom(ftpClient, addr(l.server, f));
          expect(got === 'data' ? 'answered' : 'blocked', `${backend} ${f} ftp from ${ftpClient.name} (${got})\n${stringify(policy)}`).toBe(want);
          seen.add(`ftp ${want}`);
        }
      }
      expect(loaded).toBe(runs);
    });
    // Not vacuous: each kind of probe was both answered and blocked.
    expect([...seen].sort()).toEqual(['ftp answered', 'ftp blocked', 'sent answered', 'sent blocked']);
  }, 300_000);
});
