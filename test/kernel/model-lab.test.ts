import { spawn } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Family } from '../../src/model/ir.js';
import { followPath, modelsOf, relatedBy, type PATHS, type RulesetModel } from '../../src/packet/path.js';
import { DIM, pointOf, type Box, type Packet, copyBox } from '../../src/packet/space.js';
import { compile } from '../../src/pipeline.js';
import { kernelLab } from '../../src/verify/netns.js';
import { CLIENT } from '../../src/verify/scripts.js';
import { addr, LOCAL, withLab, type Host, type Lab } from '../helpers/lab.js';

/**
 * The kernel is the judge of the packet model: random policies written for the lab's addresses
 * are loaded into the server namespace for real, and real connections meet the verdict the model
 * gives their first packet (and their later packets, and the replies), on every path:
 * - in: a client to the server (redirected, when a redirect catches it);
 * - out: the server to a client, as a random uid (root, two plain uids, and `nobody` by name);
 * - loopback: the server to itself (127.0.0.1 / ::1, or its own address), as a random uid:
 *   local redirects with hide-target meet it here;
 * - forward: a client to an address routed through the server (the server forwards on its one
 *   interface, so `in` and `out` are both eth0);
 * - DNATed: a client to a port forward of the server, on to the other client.
 * Accepted: the answering server's name and port; rejected: refused; dropped: a timeout (or, for a
 * packet this host sends, the EPERM a drop in OUTPUT returns at once). Interfaces are named by
 * an alias (`wan`) as often as by their kernel name. Without the lab, load.test.ts reports the skip
 * (or, under CI=true, the failure).
 */
const lab = kernelLab();
const runs = Number(process.env.IPFENCE_MODEL_LAB_RUNS ?? 10);
const PORTS = [22, 80, 443, 5432, 8443, 8445];
const FORWARDED = [8080, 8081];
const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
/** Uids the server's connections run as; `nobody` is 65534 on the machines the lab runs on. */
const UIDS = [0, 1001, 1002, 65534] as const;
const NOBODY = 65534;
/**
 * A second address of the server's eth0. A redirect in PREROUTING sends connections to the
 * interface's primary address (192.0.2.1, 2001:db8:99::1: see route()) whatever they were sent
 * to: this one, or FAR through the server. The model does not know which address is primary (it
 * says "depends"); the lab does, and asks the model's case for it.
 */
const SECOND: Readonly<Record<Family, string>> = { ipv4: '192.0.2.7', ipv6: '2001:db8:99::7' };
/** An address of the second client that the first reaches only through the server. */
const FAR: Readonly<Record<Family, string>> = { ipv4: '198.51.100.3', ipv6: '2001:db8:5::3' };

type Path = keyof typeof PATHS | 'loopback' | 'dnat';
const ALL_PATHS: readonly Path[] = ['in', 'out', 'loopback', 'forward', 'dnat'];

const address = fc.constantFrom('192.0.2.2', '192.0.2.3', '192.0.2.0/24', '192.0.2.2/31', '203.0.113.9', '2001:db8:99::2', '2001:db8:99::3', '2001:db8:99::/64', '2001:db8:99::2/127', '2001:db8:5::9');
const addrs = fc.uniqueArray(address, { minLength: 1, maxLength: 3 });
const farAddrs = fc.uniqueArray(fc.constantFrom('198.51.100.3', '198.51.100.0/24', '2001:db8:5::3', '2001:db8:5::/64', '192.0.2.3'), { minLength: 1, maxLength: 2 });
const port = fc.oneof(fc.constantFrom(...PORTS), fc.constant('440-450'));
const ports = fc.oneof(port, fc.uniqueArray(fc.constantFrom(...PORTS), { minLength: 1, maxLength: 3 }));
const proto = fc.constantFrom('tcp', 'udp', ['tcp', 'udp']);
const iface = fc.constantFrom('wan', 'eth0', 'eth+', 'eth1');
const action = fc.constantFrom('allow', 'deny', 'drop', 'reject');
const onlyAllowHasOthers = (r: Record<string, unknown>): Record<string, unknown> => {
  const out = { ...r };
  if (out.others !== undefined && (out.from === undefined || (out.action ?? 'allow') !== 'allow')) delete out.others;
  return out;
};
const inbound = fc
  .record({ port: ports, proto, from: addrs, to: fc.constantFrom('192.0.2.1', '2001:db8:99::1', '192.0.2.0/24'), interface: iface, except: addrs, action, others: fc.constantFrom('deny', 'drop', 'pass') }, { requiredKeys: ['port'] })
  .map(onlyAllowHasOthers);
const outbound = fc.record({ port: ports, proto, to: addrs, interface: iface, action }, { requiredKeys: ['port'] });
const forward = fc.record({ port: ports, proto, from: addrs, to: farAddrs, in: iface, out: iface, action }, { requiredKeys: ['port'] });
const user = fc.record(
  { user: fc.constantFrom(1001, 1002, 'nobody', '1000-1010'), outbound: fc.constantFrom('deny', 'drop', 'reject'), except: fc.array(fc.record({ to: addrs, port: ports, proto }, { requiredKeys: [] }), { maxLength: 2 }) },
  { requiredKeys: ['user'] },
);
const redirect = fc.record({ proto: fc.constantFrom('tcp', 'udp'), port: fc.constantFrom(...PORTS), 'to-port': fc.constantFrom(...PORTS), from: addrs, interface: fc.constantFrom('wan', 'eth0', 'eth+'), local: fc.boolean(), 'hide-target': fc.boolean() }, { requiredKeys: ['port', 'to-port', 'local', 'hide-target'] });
const portForward = fc.record({ proto: fc.constantFrom('tcp', 'udp'), port: fc.constantFrom(...FORWARDED), to: fc.constant(['192.0.2.3', '2001:db8:99::3']), 'to-port': fc.constantFrom(...PORTS), interface: fc.constantFrom('wan', 'eth0'), from: addrs }, { requiredKeys: ['port', 'to', 'interface'] });
const policyArb = fc.record({
  version: fc.constant(1),
  interfaces: fc.constant({ wan: 'eth0' }),
  defaults: fc.record({ input: fc.constantFrom('accept', 'drop', 'reject'), output: fc.constantFrom('accept', 'accept', 'drop', 'reject'), forward: fc.constantFrom('accept', 'drop', 'reject'), deny: fc.constantFrom('drop', 'reject'), order: fc.constantFrom('allow-first', 'as-written') }, { requiredKeys: [] }),
  inbound: fc.array(inbound, { maxLength: 4 }),
  outbound: fc.array(outbound, { maxLength: 3 }),
  forward: fc.array(forward, { maxLength: 2 }),
  users: fc.array(user, { maxLength: 2 }),
  redirects: fc.array(redirect, { maxLength: 1 }),
  forwards: fc.array(portForward, { maxLength: 1 }),
});

/** One probe: who connects where, as the kernel sees it, and the packet the model is asked about. */
interface Probe {
  readonly path: Path;
  readonly from: Host;
  readonly to: string;
  readonly dport: number;
  readonly proto: 'tcp' | 'udp';
  readonly uid?: number;
  readonly packet: Packet;
  /** The path of the packet in the model (a DNAT or a redirect takes it elsewhere on its own). */
  readonly modelPath: keyof typeof PATHS;
}

/** The lab's hosts by address, for the name the answering server says. */
function hostOf(l: Lab, f: Family, address: bigint): string | undefined {
  for (const [name, a] of [['srv', addr(l.server, f)], ['srv', SECOND[f]], ['srv', LOCAL[f]], ['c1', addr(l.c1, f)], ['c2', addr(l.c2, f)], ['c2', FAR[f]]] as const) {
    const p = pointOf(f, { src: a, dst: a, proto: 6, state: 'NEW' })!;
    if (p[DIM.src][0]![0] === address) return name;
  }
  return undefined;
}

const one = (v: bigint): Box[number] => [[v, v]];

/**
 * What a connection should see, by the model: the answer, 'refused' or 'timeout' (a drop), or
 * null where its packets are decided differently by a field the model leaves open.
 */
function expected(l: Lab, model: RulesetModel, f: Family, probe: Probe): string | null {
  // The server's eth0's primary address, where a redirect in PREROUTING sends the connection.
  const point = copyBox(pointOf(f, probe.packet)!);
  point[DIM.primary] = pointOf(f, { ...probe.packet, src: addr(l.server, f) })![DIM.src];
  const first = followPath(model, probe.modelPath, point);
  if (first.length !== 1) return null;
  const o = first[0]!;
  if (o.verdict === 'drop') return 'timeout';
  if (o.verdict === 'reject') return 'refused';
  // Later packets of the connection, with the translation conntrack keeps: ESTABLISHED.
  const later = copyBox(o.box);
  later[DIM.state] = one(1n);
  if (probe.modelPath === 'out') later[DIM.in] = pointOf(f, probe.packet)![DIM.in];
  // The replies: from where the connection went, back to where it came from, ESTABLISHED, as the reply direction.
  const back = copyBox(pointOf(f, {
    src: probe.packet.dst,
    dst: probe.packet.src,
    proto: probe.packet.proto,
    dport: 40000,
    sport: Number(o.box[DIM.dport][0]![0]),
    ...(probe.modelPath === 'in' ? { out: probe.packet.in === 'lo' ? 'lo' : 'eth0' } : probe.modelPath === 'out' ? { in: 'eth0' } : { in: 'eth0', out: 'eth0' }),
    state: 'ESTABLISHED',
  })!);
  back[DIM.src] = o.box[DIM.dst];
  back[DIM.ctdir] = one(1n);
  back[DIM.dnat] = o.box[DIM.dnat];
  const replyPath = probe.modelPath === 'in' ? 'out' : probe.modelPath === 'out' ? 'in' : 'forward';
  // A reply to a connection this host made to itself comes back by lo too.
  const replies = probe.path === 'loopback' ? [] : followPath(model, replyPath, back);
  const rest = [...followPath(model, probe.modelPath, later), ...replies];
  if (rest.some((x) => x.verdict !== 'accept')) return rest.every((x) => x.verdict !== 'accept') ? 'timeout' : null;
  // A redirect delivers to this host whatever the connection was sent to (FAR, through it).
  const answering = o.rules.some((r) => r.target.kind === 'redirect') ? 'srv' : hostOf(l, f, o.box[DIM.dst][0]![0]);
  return answering === undefined ? null : `${answering}:${Number(o.box[DIM.dport][0]![0])}`;
}

/**
 * One connection attempt, in the background: the probes of a policy run at once, so the lab's
 * time is a few timeouts per policy rather than one per probe.
 */
function connectAsync(probe: Probe): Promise<string> {
  const asUid = probe.uid === undefined || probe.uid === 0 ? [] : ['setpriv', `--reuid=${probe.uid}`, `--regid=${probe.uid}`, '--clear-groups'];
  const child = spawn('ip', ['netns', 'exec', probe.from.ns.name, ...asUid, process.execPath, '-e', CLIENT, probe.proto, probe.to, String(probe.dport), '1500', '1', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      clearTimeout(killer);
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        resolve((JSON.parse(out) as string[])[0]!);
      } catch (e) {
        reject(new Error(`client failed (${String(e)}): ${out} ${err}`));
      }
    }),
  );
}

/** The kernel's answer as the model's words: a drop in OUTPUT fails the send at once (EPERM). */
const asVerdict = (got: string): string => (got === 'EPERM' ? 'timeout' : got);

/**
 * The probes of one policy in one family: every path, with its ports, protocols and uids varied
 * by k. A udp server bound to any address answers from the address routing picks, not the one it
 * was asked at: udp goes to the loopback address on lo (a local REDIRECT sends it there, and the
 * answer comes from there) and is not forwarded to FAR.
 */
function probesOf(l: Lab, f: Family, k: number, policy: Record<string, unknown>): Probe[] {
  const out: Probe[] = [];
  const pick = <T,>(xs: readonly T[], i: number): T => xs[(k * 7 + i * 5) % xs.length]!;
  const protoAt = (i: number): 'tcp' | 'udp' => ((k + i) % 3 === 2 ? 'udp' : 'tcp');
  const num = (p: 'tcp' | 'udp'): number => (p === 'tcp' ? 6 : 17);
  // The model's owner of a uid: by name where the policy names it so (nobody is 65534 here).
  const named = JSON.stringify(policy.users ?? []).includes('"nobody"');
  const owner = (uid: number): string => (uid === NOBODY && named ? 'nobody' : String(uid));
  const srv = addr(l.server, f);
  for (let i = 0; i < 2; i++) {
    const client = (k + i) % 2 === 0 ? l.c1 : l.c2;
    const p = protoAt(i);
    const dport = pick(PORTS, i);
    out.push({ path: 'in', from: client, to: srv, dport, proto: p, modelPath: 'in', packet: { src: addr(client, f), dst: srv, proto: num(p), dport, sport: 40000, in: 'eth0', state: 'NEW' } });
  }
  for (let i = 0; i < 2; i++) {
    const p = protoAt(i + 1);
    const dport = pick(PORTS, i + 2);
    const uid = pick(UIDS, i);
    out.push({ path: 'out', from: l.server, to: addr(l.c1, f), dport, proto: p, uid, modelPath: 'out', packet: { src: srv, dst: addr(l.c1, f), proto: num(p), dport, sport: 40000, out: 'eth0', uid: owner(uid), gid: String(uid), state: 'NEW' } });
  }
  for (let i = 0; i < 2; i++) {
    const p = protoAt(i + 2);
    const dport = pick(PORTS, i + 4);
    const uid = pick(UIDS, i + 1);
    const to = i === 0 || p === 'udp' ? LOCAL[f] : srv;
    out.push({ path: 'loopback', from: l.server, to, dport, proto: p, uid, modelPath: 'out', packet: { src: to, dst: to, proto: num(p), dport, sport: 40000, out: 'lo', uid: owner(uid), gid: String(uid), state: 'NEW' } });
  }
  // A redirect's own port and its target, from this host itself: a local redirect with
  // hide-target refuses the target there (on the way back in on lo), and redirects its port.
  for (const red of (policy.redirects ?? []) as { port: number; 'to-port': number; proto?: 'tcp' | 'udp' }[]) {
    const p = red.proto ?? 'tcp';
    for (const dport of [red.port, red['to-port']]) {
      const to = (k + dport) % 2 === 0 || p === 'udp' ? LOCAL[f] : srv;
      out.push({ path: 'loopback', from: l.server, to, dport, proto: p, modelPath: 'out', packet: { src: to, dst: to, proto: num(p), dport, sport: 40000, out: 'lo', uid: '0', gid: '0', state: 'NEW' } });
    }
  }
  {
    // To the server's second address (redirected: to its primary one). tcp: a udp server bound
    // to any address answers from its primary one, which the client does not take for an answer.
    const redirects = (policy.redirects ?? []) as { port: number; proto?: 'tcp' | 'udp' }[];
    const dport = redirects.find((r) => (r.proto ?? 'tcp') === 'tcp')?.port ?? pick(PORTS, 7);
    const client = k % 2 === 0 ? l.c2 : l.c1;
    out.push({ path: 'in', from: client, to: SECOND[f], dport, proto: 'tcp', modelPath: 'in', packet: { src: addr(client, f), dst: SECOND[f], proto: 6, dport, sport: 40000, in: 'eth0', state: 'NEW' } });
  }
  {
    // tcp: a udp server bound to any address answers from its primary one, not from FAR.
    const p = 'tcp';
    const dport = pick(PORTS, 6);
    out.push({ path: 'forward', from: l.c1, to: FAR[f], dport, proto: p, modelPath: 'forward', packet: { src: addr(l.c1, f), dst: FAR[f], proto: num(p), dport, sport: 40000, in: 'eth0', out: 'eth0', state: 'NEW' } });
  }
  for (const fw of (policy.forwards ?? []) as { port: number; proto?: 'tcp' | 'udp' }[]) {
    const p = fw.proto ?? 'tcp';
    out.push({ path: 'dnat', from: l.c1, to: srv, dport: fw.port, proto: p, modelPath: 'in', packet: { src: addr(l.c1, f), dst: srv, proto: num(p), dport: fw.port, sport: 40000, in: 'eth0', state: 'NEW' } });
  }
  return out;
}

/** The server forwards between the clients on its one interface: the first client reaches FAR (the second's) through it, and the second answers through it. */
function route(l: Lab): void {
  const run = (h: Host, argv: string[]): void => l.check(h.ns.exec(argv), argv.join(' '));
  // No rate limit on ICMP errors: the probes run at once, and a REJECT's port unreachable must reach each.
  run(l.server, ['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.eth0.send_redirects=0', 'net.ipv4.icmp_ratelimit=0', 'net.ipv6.icmp.ratelimit=0']);
  for (const c of [l.c1, l.c2]) run(c, ['sysctl', '-qw', 'net.ipv4.conf.all.accept_redirects=0', 'net.ipv6.conf.all.accept_redirects=0', 'net.ipv6.conf.eth0.accept_redirects=0']);
  run(l.c2, ['ip', 'addr', 'add', `${FAR.ipv4}/32`, 'dev', 'eth0']);
  // The server's second address of each family. The kernel takes an IPv4 interface's first
  // address as primary and lists IPv6 addresses newest first: 2001:db8:99::1 is added again after
  // the second, so that the primary address stays the one routing answers from in both families.
  run(l.server, ['ip', 'addr', 'add', `${SECOND.ipv4}/24`, 'dev', 'eth0']);
  run(l.server, ['ip', 'addr', 'add', `${SECOND.ipv6}/64`, 'dev', 'eth0', 'nodad']);
  run(l.server, ['ip', 'addr', 'del', `${addr(l.server, 'ipv6')}/64`, 'dev', 'eth0']);
  run(l.server, ['ip', 'addr', 'add', `${addr(l.server, 'ipv6')}/64`, 'dev', 'eth0', 'nodad']);
  for (const f of FAMILIES) {
    const r = l.server.ns.exec(['ip', '-j', f === 'ipv4' ? '-4' : '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'global']);
    const first = (JSON.parse(r.stdout) as { addr_info: { local: string }[] }[])[0]!.addr_info[0]!.local;
    if (first !== addr(l.server, f)) throw new Error(`the server's primary ${f} address is ${first}, not ${addr(l.server, f)}`);
  }
  run(l.c2, ['ip', 'addr', 'add', `${FAR.ipv6}/128`, 'dev', 'eth0', 'nodad']);
  for (const f of FAMILIES) {
    const v = f === 'ipv4' ? '-4' : '-6';
    run(l.c1, ['ip', v, 'route', 'add', FAR[f], 'via', addr(l.server, f)]);
    run(l.server, ['ip', v, 'route', 'add', FAR[f], 'via', addr(l.c2, f)]);
    // Replies to the first client (from FAR, or from a DNATed connection) go back through the server.
    run(l.c2, ['ip', v, 'route', 'add', addr(l.c1, f), 'via', addr(l.server, f)]);
  }
}

describe.runIf(lab.ok)('the kernel gives real connections the verdicts of the packet model, on every path', () => {
  it.each(lab.ok ? lab.backends : [])(`%s back end, both families (${runs} random policies)`, async (backend) => {
    const seen = new Map<Path, Set<string>>(ALL_PATHS.map((p) => [p, new Set<string>()]));
    let probed = 0;
    await withLab(async (l) => {
      const specs = PORTS.flatMap((p) => [`tcp:${p}`, `udp:${p}`]);
      // The port forwards' own ports answer too: on the server, what a forward does not DNAT; on the second client, a forward without to-port.
      const forwarded = FORWARDED.flatMap((p) => [`tcp:${p}`, `udp:${p}`]);
      await Promise.all([l.serve(l.server, [...specs, ...forwarded]), l.serve(l.c1, specs), l.serve(l.c2, [...specs, ...forwarded])]);
      route(l);
      const policies = fc.sample(policyArb, { numRuns: runs * 4, seed: Number(process.env.IPFENCE_SEED ?? 20261207) });
      let loaded = 0;
      for (const [k, sampled] of policies.entries()) {
        if (loaded >= runs) break;
        // Every other policy lists the server's addresses: a redirect's destination is then one of them.
        const listed: Record<string, unknown> = k % 2 === 0 ? sampled : { ...sampled, host: { addresses: ['192.0.2.1', SECOND.ipv4, '2001:db8:99::1', SECOND.ipv6] } };
        // Half the redirects' target ports are refused at the primary address: connections to
        // the second address, or through the server, that a redirect catches meet that rule.
        const red = sampled.redirects[0];
        const policy = red === undefined || k % 4 >= 2 ? listed : { ...listed, inbound: [{ name: 'at the primary', port: red['to-port'], proto: red.proto ?? 'tcp', to: ['192.0.2.1', '2001:db8:99::1'], action: 'reject' }, ...sampled.inbound] };
        const r = compile(stringify(policy), 'lab.yaml');
        if (!r.artifacts || !r.ir || r.artifacts.some((a) => a.file === 'ipsets')) continue;
        l.load(backend, r.artifacts);
        loaded++;
        const models = modelsOf(r.ir);
        const asked = FAMILIES.flatMap((f) => probesOf(l, f, k, policy).map((probe) => ({ f, probe, want: expected(l, models.find((m) => m.family === f)!, f, probe) })));
        const answered = asked.filter((a) => a.want !== null);
        const got = await Promise.all(answered.map((a) => connectAsync(a.probe)));
        answered.forEach(({ f, probe, want }, i) => {
          expect(asVerdict(got[i]!), `${backend} ${f} ${probe.path} ${probe.from.name}${probe.uid !== undefined ? ` as uid ${probe.uid}` : ''} -> ${probe.proto} ${probe.to}:${probe.dport}\n${stringify(policy)}`).toBe(want);
          seen.get(probe.path)!.add(want === 'timeout' || want === 'refused' ? 'refused' : 'accepted');
          probed++;
        });
      }
      expect(loaded).toBe(runs);
    });
    // Not vacuous: every path had connections both accepted and refused (dropped or rejected).
    for (const [path, verdicts] of seen) expect([...verdicts].sort(), path).toEqual(['accepted', 'refused']);
    expect(probed).toBeGreaterThan(runs * 12);
    // About 20 s per back end on an idle 2-core machine; the margin is for a loaded one.
  }, 420_000);
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
