import type { Artifact } from '../../src/emit/emit.js';
import { familyRecord } from '../../src/model/family.js';
import type { XtablesVariant, Netns, RunResult } from '../../src/verify/netns.js';
import { CLIENT, SERVER } from '../../src/verify/scripts.js';
import { Throwaway, withThrowaway } from './throwaway.js';

export type Family = 'ipv4' | 'ipv6';

/**
 * A throwaway router network, all in namespaces of its own (none in the root one): a client
 * outside, a router with an uplink (wan0) and a LAN bridge (lan0), and on the LAN a backend and
 * an inside client. Outside: 203.0.113.0/24 and 2001:db8:1::/64; inside: 10.1.0.0/24 and
 * fd00:1::/64. The hosts route through the router; the router forwards in both families.
 */
export interface Node {
  readonly name: string;
  readonly ns: Netns;
  readonly addr: Readonly<Record<Family, string>>;
}

export const ROUTER_WAN = { ipv4: '203.0.113.1', ipv6: '2001:db8:1::1' } as const;
export const ROUTER_LAN = { ipv4: '10.1.0.1', ipv6: 'fd00:1::1' } as const;

/**
 * Programs the lab runs with the running Node: a server that answers with the address it sees
 * the client as (what masquerade changes), and a passive-mode FTP exchange (control connection,
 * EPSV, then the data connection the server announced) for the conntrack helper.
 */
const PEER_SERVER = String.raw`
const net = require('net');
const port = Number(process.argv[1]);
net.createServer((s) => { s.on('error', () => {}); s.end(s.remoteAddress.replace(/^::ffff:/, '') + '\n'); }).listen({ port, host: '::', ipv6Only: false }, () => console.log('ready'));
setTimeout(() => process.exit(0), 120000);
`;
export const FTP_SERVER = String.raw`
const net = require('net');
net.createServer((s) => { s.on('error', () => {}); s.write('220 ready\r\n'); s.on('data', (d) => { if (String(d).startsWith('EPSV')) s.write('229 Entering Extended Passive Mode (|||50021|)\r\n'); }); }).listen({ port: 21, host: '::', ipv6Only: false }, () => {
  net.createServer((s) => { s.on('error', () => {}); s.end('data\n'); }).listen({ port: 50021, host: '::', ipv6Only: false }, () => console.log('ready'));
});
setTimeout(() => process.exit(0), 120000);
`;
export const FTP_CLIENT = String.raw`
const net = require('net');
const host = process.argv[1];
const done = (v) => { console.log(v); process.exit(0); };
setTimeout(() => done('timeout'), 3000);
const c = net.connect({ host, port: 21 });
c.on('error', (e) => done('control ' + e.code));
let got = '';
c.on('data', (d) => {
  got += d;
  if (got.includes('220 ') && !got.includes('EPSV sent')) { got += 'EPSV sent'; c.write('EPSV\r\n'); }
  const m = /229 [^(]*\(\|\|\|(\d+)\|\)/.exec(got);
  if (m) {
    const data = net.connect({ host, port: Number(m[1]) });
    let text = '';
    data.on('data', (x) => (text += x));
    data.on('end', () => done(text.trim()));
    data.on('error', (e) => done('data ' + e.code));
  }
});
`;
/**
 * Active-mode FTP, for what a conntrack helper lets in: the server connects to whatever a client's
 * PORT or EPRT command names (as rewritten by NAT on the way), and reports over the control
 * connection what it read there; the client logs in, then names its own address and the port it
 * is given.
 */
const FTP_ACTIVE_SERVER = String.raw`
const net = require('net');
net.createServer((s) => {
  s.on('error', () => {});
  s.write('220 ready\r\n');
  let got = '';
  s.on('data', (d) => {
    got += d;
    if (/^USER .*\r\n/.test(got)) { got = ''; s.write('331 ok\r\n'); return; }
    const v4 = /PORT (\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\r\n/.exec(got);
    const v6 = /EPRT \|2\|([^|]+)\|(\d+)\|\r\n/.exec(got);
    if (!v4 && !v6) return;
    got = '';
    const host = v4 ? v4.slice(1, 5).join('.') : v6[1];
    const port = v4 ? Number(v4[5]) * 256 + Number(v4[6]) : Number(v6[2]);
    s.write('200 ok\r\n');
    const data = net.connect({ host, port });
    let text = '';
    const timer = setTimeout(() => { data.destroy(); s.write('DATA timeout\r\n'); }, 2000);
    data.on('data', (x) => (text += x));
    data.on('end', () => { clearTimeout(timer); s.write('DATA ' + text.trim() + '\r\n'); });
    data.on('error', (e) => { clearTimeout(timer); s.write('DATA ' + e.code + '\r\n'); });
  });
}).listen({ port: 21, host: '::', ipv6Only: false }, () => console.log('ready'));
setTimeout(() => process.exit(0), 120000);
`;
const FTP_ACTIVE_CLIENT = String.raw`
const net = require('net');
const [host, port] = process.argv.slice(1);
const done = (v) => { console.log(v); process.exit(0); };
setTimeout(() => done('timeout'), 5000);
const c = net.connect({ host, port: 21 });
c.on('error', (e) => done('control ' + e.code));
let got = '';
let sent = false;
c.on('data', (d) => {
  got += d;
  // conntrack's ftp helper reads commands only after a first line it has seen end: as clients do, USER first.
  if (got.includes('220 ') && !got.includes('USER sent')) { got += 'USER sent'; c.write('USER ftp\r\n'); }
  if (got.includes('331 ') && !sent) {
    sent = true;
    const me = c.localAddress.replace(/^::ffff:/, '');
    const p = Number(port);
    c.write(me.includes(':') ? 'EPRT |2|' + me + '|' + p + '|\r\n' : 'PORT ' + me.split('.').join(',') + ',' + (p >> 8) + ',' + (p & 255) + '\r\n');
  }
  const m = /DATA (.*)\r\n/.exec(got);
  if (m) done(m[1]);
});
`;
/**
 * One connection (tcp) or datagram (udp) from a chosen source port, sent as a chosen uid ('-':
 * root): the answer, 'refused', 'timeout' or the error's code (EPERM when OUTPUT drops it).
 */
export const SOURCED_CLIENT = String.raw`
const net = require('net'), dgram = require('dgram');
const [proto, host, port, sport, uid] = process.argv.slice(1);
if (uid !== '-') { process.setgid(Number(uid)); process.setuid(Number(uid)); }
const done = (v) => { console.log(v); process.exit(0); };
setTimeout(() => done('timeout'), 1500);
const failed = (e) => done(e.code === 'ECONNREFUSED' ? 'refused' : e.code || 'error');
if (proto === 'tcp') {
  const s = net.connect({ host, port: Number(port), localPort: Number(sport) });
  let data = '';
  s.on('data', (d) => (data += d));
  s.on('end', () => done(data.trim() || 'empty'));
  s.on('error', failed);
} else {
  const u = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  u.on('message', (m) => done(String(m)));
  u.on('error', failed);
  u.bind(Number(sport), () => u.connect(Number(port), host, () => u.send('ping', (e) => e && failed(e))));
}
`;
/** An MLD listener query (ICMPv6 type 130) to ff02::1 on eth0, with the hop limit given. */
const MLD_QUERY = String.raw`
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, int(sys.argv[1]))
index = socket.if_nametoindex('eth0')
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
s.sendto(bytes([130, 0, 0, 0, 0x27, 0x10, 0, 0]) + bytes(16), ('ff02::1', 0, 0, index))
`;

export class RouterLab extends Throwaway {
  client!: Node;
  router!: Node;
  backend!: Node;
  inside!: Node;

  private constructor() {
    super();
  }

  static create(): RouterLab {
    const lab = new RouterLab();
    try {
      lab.router = { name: 'rt', ns: lab.makeNs('rt'), addr: ROUTER_WAN };
      const r = lab.router.ns;
      lab.check(r.exec(['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']));
      lab.check(r.exec(['ip', 'link', 'add', 'lan0', 'type', 'bridge', 'mcast_snooping', '0']));
      lab.check(r.exec(['ip', 'addr', 'add', `${ROUTER_LAN.ipv4}/24`, 'dev', 'lan0']));
      lab.check(r.exec(['ip', 'addr', 'add', `${ROUTER_LAN.ipv6}/64`, 'dev', 'lan0', 'nodad']));
      lab.check(r.exec(['ip', 'link', 'set', 'lan0', 'up']));
      lab.client = lab.host('cl', 'wan0', null, { ipv4: '203.0.113.2', ipv6: '2001:db8:1::2' }, ROUTER_WAN);
      lab.check(r.exec(['ip', 'addr', 'add', `${ROUTER_WAN.ipv4}/24`, 'dev', 'wan0']));
      lab.check(r.exec(['ip', 'addr', 'add', `${ROUTER_WAN.ipv6}/64`, 'dev', 'wan0', 'nodad']));
      lab.backend = lab.host('be', 'lan-be', 'lan0', { ipv4: '10.1.0.10', ipv6: 'fd00:1::10' }, ROUTER_LAN);
      lab.inside = lab.host('ic', 'lan-ic', 'lan0', { ipv4: '10.1.0.20', ipv6: 'fd00:1::20' }, ROUTER_LAN);
      // Every link once, before any rule: the first IPv6 packets on a fresh link can be lost to neighbour discovery.
      for (const h of [lab.client, lab.backend, lab.inside]) {
        for (const f of ['ipv4', 'ipv6'] as const) h.ns.exec(['ping', '-c', '1', '-W', '2', h === lab.client ? ROUTER_WAN[f] : ROUTER_LAN[f]]);
      }
      return lab;
    } catch (e) {
      lab.destroy();
      throw e;
    }
  }

  /** A host on a veth whose router end is `routerEnd` (enslaved to `bridge`, if given), routed by `gateway`. */
  private host(tag: string, routerEnd: string, bridge: string | null, addr: Record<Family, string>, gateway: Readonly<Record<Family, string>>): Node {
    const ns = this.makeNs(tag);
    this.check(ns.exec(['sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']));
    this.check(this.router.ns.exec(['ip', 'link', 'add', routerEnd, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name]));
    if (bridge) this.check(this.router.ns.exec(['ip', 'link', 'set', routerEnd, 'master', bridge]));
    this.check(this.router.ns.exec(['ip', 'link', 'set', routerEnd, 'up']));
    this.check(ns.exec(['ip', 'addr', 'add', `${addr.ipv4}/24`, 'dev', 'eth0']));
    this.check(ns.exec(['ip', 'addr', 'add', `${addr.ipv6}/64`, 'dev', 'eth0', 'nodad']));
    this.check(ns.exec(['ip', 'link', 'set', 'eth0', 'up']));
    this.check(ns.exec(['ip', 'route', 'add', 'default', 'via', gateway.ipv4]));
    this.check(ns.exec(['ip', '-6', 'route', 'add', 'default', 'via', gateway.ipv6]));
    return { name: tag, ns, addr };
  }

  /** Loads compiled restore files into the router (replacing what it had). */
  load(backend: XtablesVariant, artifacts: readonly Artifact[]): void {
    for (const a of artifacts.filter((x) => x.family)) this.check(this.router.ns.restore(backend, a.family!, a.content), `${a.file} load`);
  }

  /** Runs the compiled apply.sh in the router, as root on a host would. */
  apply(backend: XtablesVariant, files: readonly Artifact[]): RunResult {
    return this.applyIn(this.router.ns, backend, this.folder(files));
  }

  private start(h: Node, argv: readonly string[]): Promise<void> {
    return this.startReady(h.ns, h.name, argv);
  }

  /** Servers answering "<name>:<port>" on tcp:P / udp:P. */
  serve(h: Node, specs: readonly string[]): Promise<void> {
    return this.start(h, [process.execPath, '-e', SERVER, h.name, ...specs]);
  }

  /** A tcp server on `port` answering with the client's address as it sees it. */
  servePeer(h: Node, port: number): Promise<void> {
    return this.start(h, [process.execPath, '-e', PEER_SERVER, String(port)]);
  }

  serveFtp(h: Node): Promise<void> {
    return this.start(h, [process.execPath, '-e', FTP_SERVER]);
  }

  /** One connection: the answer, 'refused' or 'timeout'. */
  connect(from: Node, address: string, port: number, proto: 'tcp' | 'udp' = 'tcp', timeoutMs = 800): string {
    const r = from.ns.exec([process.execPath, '-e', CLIENT, proto, address, String(port), String(timeoutMs), '1', '0'], undefined, timeoutMs + 10_000);
    if (r.status !== 0) throw new Error(`client failed: ${r.stderr}`);
    return (JSON.parse(r.stdout) as string[])[0]!;
  }

  /** As connect, from source port `sport`, as `uid` (root without one). */
  connectFrom(from: Node, address: string, port: number, proto: 'tcp' | 'udp', sport: number, uid?: number): string {
    const r = from.ns.exec([process.execPath, '-e', SOURCED_CLIENT, proto, address, String(port), String(sport), uid === undefined ? '-' : String(uid)], undefined, 10_000);
    if (r.status !== 0) throw new Error(`client failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  serveFtpActive(h: Node): Promise<void> {
    return this.start(h, [process.execPath, '-e', FTP_ACTIVE_SERVER]);
  }

  /**
   * An active FTP exchange from `from` to the server at `address`, naming `from`'s own `port` for
   * the data connection: what the server read there ('ic:22'), or why not ('timeout').
   */
  ftpActive(from: Node, address: string, port: number): string {
    const r = from.ns.exec([process.execPath, '-e', FTP_ACTIVE_CLIENT, address, String(port)], undefined, 10_000);
    if (r.status !== 0) throw new Error(`ftp client failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** A passive FTP exchange from `from`: 'data' when the data connection the server announced got through. */
  ftp(from: Node, address: string): string {
    const r = from.ns.exec([process.execPath, '-e', FTP_CLIENT, address], undefined, 10_000);
    if (r.status !== 0) throw new Error(`ftp client failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** Sends one MLD query from the client to every node of its link, with this hop limit. */
  mldQuery(hopLimit: number): void {
    this.check(this.client.ns.exec(['python3', '-c', MLD_QUERY, String(hopLimit)]), 'sending an MLD query');
  }

  /** The packet counter of the router's rules in `chain` whose comment is `comment` (and target `target`). */
  counter(backend: XtablesVariant, family: Family, table: string, chain: string, comment: string, target = ''): number {
    const tool = `${familyRecord(family).tool}-${backend}`;
    const r = this.router.ns.exec([tool, '-w', '-t', table, '-L', chain, '-v', '-x', '-n']);
    this.check(r, `${tool} -L`);
    // Columns of -L -v -x: pkts bytes target prot opt in out source destination, then the rest.
    const rows = r.stdout.split('\n').filter((l) => l.includes(`/* ${comment} */`)).map((l) => l.trim().split(/\s+/));
    return rows.filter((c) => target === '' || c[2] === target).reduce((n, c) => n + Number(c[0]), 0);
  }
}

export const withRouterLab = <T>(fn: (lab: RouterLab) => Promise<T>): Promise<T> => withThrowaway(() => RouterLab.create(), fn);
