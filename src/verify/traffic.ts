import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { Artifact } from '../emit/emit.js';
import { FAMILY_NAMES, familyRecord } from '../model/family.js';
import type { Family, Ownership } from '../model/ir.js';
import { Netns, run, uniqueNetnsName, type XtablesVariant } from './netns.js';
import { probeText, type Probe } from './probes.js';
import { CLIENT, SERVER } from './scripts.js';

const VERB = { accept: 'accepted', drop: 'dropped', reject: 'rejected' } as const;

/** What a client saw, as a verdict: an answer is accepted, a refusal rejected, silence dropped. */
const seen = (answer: string): keyof typeof VERB => (answer === 'refused' ? 'reject' : answer === 'timeout' ? 'drop' : 'accept');

/**
 * Sends each probe for real: per back end and family, this host's rules are loaded into a
 * throwaway namespace, with a peer namespace on a veth named as the test's interface; the
 * connection goes from the peer (a test to this host) or from the host, as its user (a test
 * from it), to a server on the other side. Every namespace is deleted afterwards, whatever
 * happens. Where the kernel's verdict is not the model's, a verify-disagrees error at the test.
 */
export async function sendProbes(artifacts: readonly Artifact[], backends: readonly XtablesVariant[], probes: readonly Probe[], ownership: Ownership): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  for (const backend of backends) {
    for (const family of FAMILY_NAMES) {
      const mine = probes.filter((p) => p.family === family);
      if (mine.length === 0) continue;
      const lab = new ProbeLab();
      try {
        lab.load(backend, artifacts, ownership);
        for (const p of mine) {
          const got = seen(await lab.send(p, artifacts));
          if (got === p.model) continue;
          out.push(diag('verify-disagrees', p.test.origin.loc, `test '${p.test.origin.label}': the kernel (${backend} back end) ${VERB[got]} ${probeText(p)}, which the packet model says is ${VERB[p.model]}; this is a bug in ipfence, please report it with the policy`, undefined, p.test.origin.path));
        }
      } finally {
        lab.destroy();
      }
    }
  }
  return out;
}

/** The lab could not send the connections (a setup step failed): no verdict either way. */
export class LabError extends Error {}

/** A host namespace holding the rules, and a peer namespace per interface the probes use. */
class ProbeLab {
  private readonly names: string[] = [];
  private readonly dirs: string[] = [];
  private readonly procs: ChildProcess[] = [];
  private readonly peers = new Map<string, Netns>();
  private readonly placed = new Map<string, { readonly ns: Netns; readonly dev: string }>();
  readonly host: Netns;

  constructor() {
    this.host = this.ns('host');
    this.must(this.host.exec(['sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']));
  }

  private ns(tag: string): Netns {
    const name = uniqueNetnsName(tag);
    this.must(run(['ip', 'netns', 'add', name]));
    this.names.push(name);
    const ns = new Netns(name);
    this.must(ns.exec(['ip', 'link', 'set', 'lo', 'up']));
    return ns;
  }

  private must(r: { status: number; stderr: string }): void {
    if (r.status !== 0) throw new LabError(`the lab could not be set up: ${r.stderr.trim()}`);
  }

  /**
   * Loads the files: in full mode with the restore tools (and the sets), as the kernel test of
   * every load does; in coexist mode with apply.sh, which alone adds the jumps into ipfence's
   * chains. Its state is kept in a folder of ours.
   */
  load(backend: XtablesVariant, artifacts: readonly Artifact[], ownership: Ownership): void {
    if (ownership === 'full') {
      const sets = artifacts.find((a) => a.file === 'ipsets');
      if (sets) this.must(this.host.loadSets(sets.content));
      for (const a of artifacts) if (a.family) this.must(this.host.restore(backend, a.family, a.content));
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'ipfence-verify-'));
    this.dirs.push(dir);
    for (const a of artifacts) writeFileSync(join(dir, a.file), a.content, { mode: a.executable ? 0o755 : 0o644 });
    const env = [`IPFENCE_IPTABLES=iptables-${backend}`, `IPFENCE_IP6TABLES=ip6tables-${backend}`, `IPFENCE_STATE_DIR=${join(dir, 'state')}`];
    const r = this.host.exec(['env', ...env, 'sh', join(dir, 'apply.sh')], undefined, 60_000);
    if (r.status !== 0) throw new LabError(`apply.sh refused to load the rules in the lab: ${(r.stdout + r.stderr).trim().split('\n').pop()}`);
  }

  /** The peer on this host's interface `iface` (a veth pair, both ends in our namespaces). */
  private peer(iface: string): Netns {
    let p = this.peers.get(iface);
    if (p === undefined) {
      p = this.ns('peer');
      this.must(p.exec(['sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']));
      this.must(this.host.exec(['ip', 'link', 'add', iface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.name]));
      this.must(this.host.exec(['ip', 'link', 'set', iface, 'up']));
      this.must(p.exec(['ip', 'link', 'set', 'eth0', 'up']));
      this.peers.set(iface, p);
    }
    return p;
  }

  /** `address` on `ns`'s `dev`, and only there (one test's client address may be another's server). */
  private place(ns: Netns, dev: string, address: string, family: Family): void {
    const bits = familyRecord(family).bits;
    const where = this.placed.get(address);
    if (where?.ns === ns && where.dev === dev) return;
    if (where) where.ns.exec(['ip', 'addr', 'del', `${address}/${bits}`, 'dev', where.dev]);
    this.placed.set(address, { ns, dev });
    this.must(ns.exec(['ip', 'addr', 'add', `${address}/${bits}`, 'dev', dev, ...familyRecord(family).addrAddOptions]));
  }

  /** A route on `a` to `bAddress` on `b`, from `aAddress` (a client must connect from the probe's source). */
  private link(a: Netns, aDev: string, aAddress: string, b: Netns, bDev: string, bAddress: string, family: Family): void {
    // Static neighbours: no discovery, which the rules may filter, stands between the two.
    const mac = JSON.parse(b.exec(['ip', '-j', 'link', 'show', bDev]).stdout)[0].address as string;
    const bits = familyRecord(family).bits;
    this.must(a.exec(['ip', 'route', 'replace', `${bAddress}/${bits}`, 'dev', aDev, 'src', aAddress]));
    this.must(a.exec(['ip', 'neigh', 'replace', bAddress, 'lladdr', mac, 'dev', aDev, 'nud', 'permanent']));
  }

  async send(p: Probe, artifacts: readonly Artifact[]): Promise<string> {
    const peer = this.peer(p.iface);
    // A test to this host: the peer is the client. A test from it: this host is.
    const [client, clientDev, server, serverDev] = p.direction === 'in' ? [peer, 'eth0', this.host, p.iface] : [this.host, p.iface, peer, 'eth0'];
    this.place(client, clientDev, p.src, p.family);
    this.place(server, serverDev, p.dst, p.family);
    this.link(client, clientDev, p.src, server, serverDev, p.dst, p.family);
    this.link(server, serverDev, p.dst, client, clientDev, p.src, p.family);
    // The ports a redirect may send the connection to answer too.
    const targets = [...new Set([p.port, ...redirectTargets(artifacts)])];
    await this.serve(server, targets.map((t) => `${p.proto}:${t}`));
    const asUser = [...(p.user !== undefined ? [`--reuid=${p.user}`] : []), ...(p.group !== undefined ? [`--regid=${p.group}`, '--clear-groups'] : [])];
    const r = client.exec([...(asUser.length > 0 ? ['setpriv', ...asUser] : []), process.execPath, '-e', CLIENT, p.proto, p.dst, String(p.port), '1500', '1', '0'], undefined, 15_000);
    this.stopServers();
    if (r.status !== 0) throw new Error(`the lab's client failed: ${r.stderr.trim()}`);
    return (JSON.parse(r.stdout) as string[])[0]!;
  }

  private serve(ns: Netns, specs: readonly string[]): Promise<void> {
    const proc = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', SERVER, 'probe', ...specs], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.push(proc);
    let err = '';
    proc.stderr.on('data', (d) => (err += d));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the lab's server did not start: ${err}`)), 10_000);
      createInterface({ input: proc.stdout }).on('line', (l) => {
        if (l === 'ready') {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.on('exit', () => reject(new Error(`the lab's server exited: ${err}`)));
    });
  }

  private stopServers(): void {
    for (const p of this.procs.splice(0)) p.kill('SIGKILL');
  }

  destroy(): void {
    this.stopServers();
    for (const n of [...this.names].reverse()) run(['ip', 'netns', 'del', n]);
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** The ports REDIRECT sends connections to, read from the rules. */
function redirectTargets(artifacts: readonly Artifact[]): number[] {
  return [...new Set(artifacts.flatMap((a) => [...a.content.matchAll(/-j REDIRECT --to-ports (\d+)/g)].map((m) => Number(m[1]))))];
}
