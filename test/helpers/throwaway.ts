import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Artifact } from '../../src/emit/emit.js';
import { Netns, run, uniqueNetnsName, type XtablesVariant, type RunResult } from '../../src/verify/netns.js';

/**
 * What every kernel lab owns and must give back: its namespaces (never the root one), the
 * processes it started in them, and its folders, apply.sh's state among them (never the
 * machine's /var/lib/ipfence). `destroy` ends all of it, even after a failure.
 */
export class Throwaway {
  private readonly procs: ChildProcess[] = [];
  private readonly names: string[] = [];
  /** Where apply.sh keeps its state in this lab (IPFENCE_STATE_DIR). */
  readonly stateDir = mkdtempSync(join(tmpdir(), 'ipfence-state-'));
  private readonly dirs: string[] = [this.stateDir];

  /** A namespace of this lab (deleted with it), loopback up. */
  makeNs(tag: string): Netns {
    const name = uniqueNetnsName(tag);
    this.check(run(['ip', 'netns', 'add', name]));
    this.names.push(name);
    const ns = new Netns(name);
    this.check(ns.exec(['ip', 'link', 'set', 'lo', 'up']));
    return ns;
  }

  check(r: { status: number; stderr: string }, what = 'lab setup'): void {
    if (r.status !== 0) throw new Error(`${what} failed: ${r.stderr}`);
  }

  /** Writes compiled files to a new folder of this lab (deleted with it), as an operator copies them to a host. */
  folder(files: readonly Artifact[]): string {
    const dir = mkdtempSync(join(tmpdir(), 'ipfence-apply-'));
    this.dirs.push(dir);
    for (const a of files) writeFileSync(join(dir, a.file), a.content, { mode: a.executable ? 0o755 : 0o644 });
    return dir;
  }

  /** Runs `apply.sh ARGS` from `dir` inside `ns` with the back end's tools and this lab's state, as root would. */
  applyIn(ns: Netns, backend: XtablesVariant, dir: string, args: readonly string[] = [], env: readonly string[] = []): RunResult {
    // Each lab is its own host: its own lock, so that labs running at once do not wait for each other.
    return ns.exec(['env', `IPFENCE_IPTABLES=iptables-${backend}`, `IPFENCE_IP6TABLES=ip6tables-${backend}`, `IPFENCE_STATE_DIR=${this.stateDir}`, `IPFENCE_LOCK=${this.stateDir}/lock`, ...env, 'sh', join(dir, 'apply.sh'), ...args], undefined, 60_000);
  }

  /** Starts `argv` inside `ns`, in the background; it is killed with the lab. */
  spawnIn(ns: Netns, argv: readonly string[]): ChildProcessByStdio<null, Readable, Readable> {
    const p = spawn('ip', ['netns', 'exec', ns.name, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.push(p);
    return p;
  }

  /** Starts `argv` inside `ns` and waits for it to print `ready` (a server of the lab's scripts). */
  protected async startReady(ns: Netns, label: string, argv: readonly string[]): Promise<void> {
    const p = this.spawnIn(ns, argv);
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server on ${label} did not start: ${err}`)), 10_000);
      createInterface({ input: p.stdout }).on('line', (l) => {
        if (l === 'ready') {
          clearTimeout(timer);
          resolve();
        }
      });
      p.on('exit', () => reject(new Error(`server on ${label} exited: ${err}`)));
    });
  }

  destroy(): void {
    for (const p of this.procs) p.kill('SIGKILL');
    // Whatever else runs in them (an sshd's sessions, a rollback watcher still waiting) goes too.
    for (const n of this.names) for (const pid of run(['ip', 'netns', 'pids', n]).stdout.split('\n').filter(Boolean)) run(['kill', '-9', pid]);
    for (const n of [...this.names].reverse()) run(['ip', 'netns', 'del', n]);
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** Runs `fn` with a lab made by `create`, destroying it afterwards whatever happens. */
export async function withThrowaway<L extends Throwaway, T>(create: () => L, fn: (lab: L) => Promise<T>): Promise<T> {
  const lab = create();
  try {
    return await fn(lab);
  } finally {
    lab.destroy();
  }
}
