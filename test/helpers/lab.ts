import type { Artifact } from '../../src/emit/emit.js';
import type { XtablesVariant, Netns, RunResult } from '../../src/verify/netns.js';
import { CLIENT, SERVER } from '../../src/verify/scripts.js';
import { FTP_CLIENT, FTP_SERVER, SOURCED_CLIENT } from './router-lab.js';
import { Throwaway, withThrowaway } from './throwaway.js';

/**
 * A throwaway network: a switch namespace with a bridge, a server and two clients, each with an
 * IPv4 and an IPv6 address from documentation ranges. Every veth is created inside our own
 * namespaces (never in the root one); all traffic stays on this bridge; servers and clients are
 * bounded in time; `destroy` kills them and deletes every namespace even after a failure.
 */
export interface Host {
  readonly name: string;
  readonly ns: Netns;
  readonly v4: string;
  readonly v6: string;
}

export type Family = 'ipv4' | 'ipv6';
export const addr = (h: Host, f: Family): string => (f === 'ipv4' ? h.v4 : h.v6);
export const LOCAL: Record<Family, string> = { ipv4: '127.0.0.1', ipv6: '::1' };

export interface ConnectOptions {
  readonly proto?: 'tcp' | 'udp';
  readonly timeoutMs?: number;
  /** Run the client as this uid (with setpriv), e.g. to exercise owner matches. */
  readonly uid?: number;
}

export class Lab extends Throwaway {
  server!: Host;
  c1!: Host;
  c2!: Host;
  private switchNs!: Netns;

  private constructor() {
    super();
  }

  static create(): Lab {
    const lab = new Lab();
    try {
      lab.switchNs = lab.makeNs('sw');
      lab.check(lab.switchNs.exec(['ip', 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0']));
      lab.check(lab.switchNs.exec(['ip', 'link', 'set', 'br0', 'up']));
      lab.server = lab.host('srv', 1);
      lab.c1 = lab.host('c1', 2);
      lab.c2 = lab.host('c2', 3);
      // Low ports for servers run as an unprivileged uid in owner tests.
      lab.check(lab.server.ns.exec(['sysctl', '-qw', 'net.ipv4.ip_unprivileged_port_start=0']));
      return lab;
    } catch (e) {
      lab.destroy();
      throw e;
    }
  }

  private host(tag: string, n: number): Host {
    const ns = this.makeNs(tag);
    // No duplicate address detection: addresses are usable at once, and real neighbour discovery
    // (what the RFC 4890 test needs) still happens.
    this.check(ns.exec(['sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']));
    const port = `v${tag}${process.pid % 10000}`.slice(0, 15);
    this.check(this.switchNs.exec(['ip', 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name]));
    this.check(this.switchNs.exec(['ip', 'link', 'set', port, 'master', 'br0', 'up']));
    const v4 = `192.0.2.${n}`;
    const v6 = `2001:db8:99::${n}`;
    this.check(ns.exec(['ip', 'addr', 'add', `${v4}/24`, 'dev', 'eth0']));
    this.check(ns.exec(['ip', 'addr', 'add', `${v6}/64`, 'dev', 'eth0', 'nodad']));
    this.check(ns.exec(['ip', 'link', 'set', 'eth0', 'up']));
    return { name: tag, ns, v4, v6 };
  }

  /** Loads compiled restore files into the server for real. */
  load(backend: XtablesVariant, artifacts: readonly Artifact[], into: Host = this.server): void {
    for (const a of artifacts.filter((x) => x.family)) this.check(into.ns.restore(backend, a.family!, a.content), `${a.file} load`);
  }

  /** Runs `apply.sh ARGS` from `dir` inside `into` with the back end's tools, as root would; its exit status and output. */
  runApply(backend: XtablesVariant, dir: string, args: readonly string[] = [], into: Host = this.server, env: readonly string[] = []): RunResult {
    return this.applyIn(into.ns, backend, dir, args, env);
  }

  /** Writes the files to a folder and runs apply.sh inside `into`; fails the test unless it applied. */
  apply(backend: XtablesVariant, files: readonly Artifact[], into: Host = this.server): void {
    const r = this.runApply(backend, this.folder(files), [], into);
    this.check(r, `apply.sh\n${r.stdout}`);
  }

  /** Starts servers answering "<host>:<port>" on tcp:P / udp:P (IPv4 and IPv6), optionally as a uid. */
  async serve(h: Host, specs: readonly string[], uid?: number): Promise<void> {
    const asUid = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
    await this.startReady(h.ns, h.name, [...asUid, process.execPath, '-e', SERVER, h.name, ...specs]);
  }

  /** One connection attempt from `from` to address:port: the server's answer, 'refused' or 'timeout'. */
  connect(from: Host, address: string, port: number, opts: ConnectOptions = {}): string {
    return this.connectMany(from, address, port, 1, 0, opts)[0]!;
  }

  connectMany(from: Host, address: string, port: number, count: number, gapMs: number, opts: ConnectOptions = {}): string[] {
    const asUid = opts.uid === undefined ? [] : ['setpriv', `--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups'];
    const timeout = opts.timeoutMs ?? 700;
    const r = from.ns.exec([...asUid, process.execPath, '-e', CLIENT, opts.proto ?? 'tcp', address, String(port), String(timeout), String(count), String(gapMs)], undefined, count * (timeout + gapMs) + 10_000);
    if (r.status !== 0) throw new Error(`client failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as string[];
  }

  /** As connect, from the source port `sport` of `from`, as `uid`: the answer, or why not. */
  sendFrom(from: Host, address: string, port: number, proto: 'tcp' | 'udp', sport: number, uid: number): string {
    const r = from.ns.exec([process.execPath, '-e', SOURCED_CLIENT, proto, address, String(port), String(sport), String(uid)], undefined, 10_000);
    if (r.status !== 0) throw new Error(`client failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** A passive-mode FTP server on the server (control 21, data 50021). */
  startFtp(): Promise<void> {
    return this.startReady(this.server.ns, this.server.name, [process.execPath, '-e', FTP_SERVER]);
  }

  /** A passive FTP exchange from `from`: 'data' when the announced data connection got through. */
  ftpFrom(from: Host, address: string): string {
    const r = from.ns.exec([process.execPath, '-e', FTP_CLIENT, address], undefined, 10_000);
    if (r.status !== 0) throw new Error(`ftp client failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** Like connectMany, but in the background, so the test can change the firewall meanwhile. */
  connectManyAsync(from: Host, address: string, port: number, count: number, gapMs: number, timeoutMs = 1000): Promise<string[]> {
    const p = this.spawnIn(from.ns, [process.execPath, '-e', CLIENT, 'tcp', address, String(port), String(timeoutMs), String(count), String(gapMs)]);
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    return new Promise((resolve, reject) => p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`client failed: ${err}`)))));
  }
}

export const withLab = <T>(fn: (lab: Lab) => Promise<T>): Promise<T> => withThrowaway(() => Lab.create(), fn);
