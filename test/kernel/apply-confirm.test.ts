import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';
import { kernelLab, run, type Netns } from '../../src/verify/netns.js';
import { Throwaway } from '../helpers/throwaway.js';

/**
 * --confirm and the lock under the ways they broke: a lock held past the confirm window, a run
 * killed between the families, two applies naming different state folders.
 */
const lab = kernelLab();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits until `done()` holds (at most 20 s): a run has got somewhere, on a loaded machine too, and not a fixed time later. */
const until = async (done: () => boolean) => {
  for (const end = Date.now() + 20_000; !done() && Date.now() < end; ) await sleep(100);
};
const open = (port: number) => `version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: ${port} }\n`;

describe.runIf(lab.ok)('apply.sh --confirm and its lock', () => {
  const backend = lab.ok ? lab.backends[0]! : 'nft';
  const t = new Throwaway();
  afterAll(() => t.destroy());
  const folder = (port: number) => t.folder(compile(open(port), 'c.yaml', 'c.yaml').artifacts!);
  const v4 = (ns: Netns) => ns.save(backend, 'ipv4');
  /** ip6tables whose restore takes SECS seconds first. */
  const slowTools = (secs: number) => {
    const dir = t.folder([]);
    writeFileSync(join(dir, 'ip6tables-slow-save'), `#!/bin/sh\nexec ip6tables-${backend}-save "$@"\n`, { mode: 0o755 });
    writeFileSync(join(dir, 'ip6tables-slow-restore'), `#!/bin/sh\nsleep ${secs}\nexec ip6tables-${backend}-restore "$@"\n`, { mode: 0o755 });
    writeFileSync(join(dir, 'ip6tables-slow'), `#!/bin/sh\nexec ip6tables-${backend} "$@"\n`, { mode: 0o755 });
    return `${dir}/ip6tables-slow`;
  };
  const spawnApply = (ns: Netns, dir: string, env: string[], args: string[] = []) => {
    const child = spawn('ip', ['netns', 'exec', ns.name, 'env', `IPFENCE_IPTABLES=iptables-${backend}`, ...env, 'sh', join(dir, 'apply.sh'), ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exited, stderr: () => stderr };
  };

  it('two applies naming different state folders exclude each other: the second waits for the first', async () => {
    const ns = t.makeNs('two');
    const a = spawnApply(ns, folder(7000), [`IPFENCE_IP6TABLES=${slowTools(3)}`, `IPFENCE_STATE_DIR=${join(t.stateDir, 'a')}`]);
    // The first holds the lock from before its IPv4 load until after its slow IPv6 one (3 s).
    await until(() => v4(ns).includes('--dport 7000'));
    const b = spawnApply(ns, folder(7001), [`IPFENCE_IP6TABLES=ip6tables-${backend}`, `IPFENCE_STATE_DIR=${join(t.stateDir, 'b')}`]);
    await sleep(1000);
    expect(v4(ns), 'the first has loaded IPv4').toContain('--dport 7000');
    expect(v4(ns), 'the second waits for the first').not.toContain('--dport 7001');
    expect(await a.exited, a.stderr()).toBe(0);
    expect(await b.exited, b.stderr()).toBe(0);
    expect(v4(ns)).toContain('--dport 7001');
    expect(v4(ns)).not.toContain('--dport 7000');
  });

  it('SIGKILL between the families of a --confirm: its watcher already runs and a record is left; the next apply repairs first', async () => {
    const ns = t.makeNs('kill');
    const state = join(t.stateDir, 'kill');
    const env = [`IPFENCE_IP6TABLES=ip6tables-${backend}`, `IPFENCE_STATE_DIR=${state}`, 'IPFENCE_LOCK=/run/ipfence.lock'];
    expect(t.applyIn(ns, backend, folder(7000), [], env).status).toBe(0);
    const before = v4(ns);
    const a = spawnApply(ns, folder(7001), [`IPFENCE_IP6TABLES=${slowTools(3)}`, `IPFENCE_STATE_DIR=${state}`], ['--confirm', '60']);
    // IPv4 is loaded, and IPv6's restore sleeps 3 s: the kill comes between the families.
    await until(() => v4(ns).includes('--dport 7001'));
    expect(v4(ns), 'IPv4 is loaded when the kill comes').toContain('--dport 7001');
    process.kill(-a.child.pid!, 'SIGKILL');
    await a.exited;
    expect(existsSync(join(state, 'inflight')), 'the record of the change').toBe(true);
    const [wpid] = readFileSync(join(state, 'pending', 'watcher'), 'utf8').split(' ');
    expect(run(['kill', '-0', wpid!]).status, 'the watcher runs').toBe(0);
    const confirmed = t.applyIn(ns, backend, folder(7001), ['--confirmed'], env);
    expect(confirmed.status, 'a half-done change is not confirmed').toBe(1);
    expect(confirmed.stderr).toContain('stopped half way through its change');
    const next = t.applyIn(ns, backend, folder(7002), [], env);
    expect(next.status, next.stderr).toBe(0);
    expect(next.stderr).toContain('was stopped half way through a change');
    expect(v4(ns)).toContain('--dport 7002');
    expect(v4(ns)).not.toContain('--dport 7001');
    expect(existsSync(join(state, 'pending'))).toBe(false);
    expect(existsSync(join(state, 'inflight'))).toBe(false);
    void before;
  });

  it('a confirmation that never comes is rolled back even when another run holds the lock past the window', async () => {
    const ns = t.makeNs('late');
    const state = join(t.stateDir, 'late');
    const env = [`IPFENCE_IP6TABLES=ip6tables-${backend}`, `IPFENCE_STATE_DIR=${state}`, 'IPFENCE_LOCK=/run/ipfence.lock'];
    expect(t.applyIn(ns, backend, folder(7000), [], env).status).toBe(0);
    const before = v4(ns).split('\n').filter((l) => l.startsWith('-A ')).join('\n');
    expect(t.applyIn(ns, backend, folder(7001), ['--confirm', '3'], env).status).toBe(0);
    // Another run, in another namespace with its own state folder, holds the host's lock for about
    // 6 s, well past the 3 s window (its ip6tables-restore is slow).
    const other = t.makeNs('other');
    const b = spawnApply(other, folder(7005), [`IPFENCE_IP6TABLES=${slowTools(6)}`, `IPFENCE_STATE_DIR=${join(t.stateDir, 'other')}`]);
    await sleep(4000);
    expect(v4(ns), 'the watcher waits for the lock').toContain('--dport 7001');
    expect(await b.exited, b.stderr()).toBe(0);
    let now = '';
    for (let i = 0; i < 40; i++) {
      await sleep(250);
      now = v4(ns).split('\n').filter((l) => l.startsWith('-A ')).join('\n');
      if (now === before) break;
    }
    expect(now, 'rolled back once the lock was free').toBe(before);
    expect(readFileSync(join(state, 'log'), 'utf8')).toContain('not confirmed within 3 s');
  });
});
