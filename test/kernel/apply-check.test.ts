import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';
import { kernelLab } from '../../src/verify/netns.js';
import { Throwaway } from '../helpers/throwaway.js';

/**
 * `apply.sh --check` on a host whose last apply was killed half way through its change: the
 * state folder's inflight/ says the next apply will first put back what ran before, so the host
 * is not settled, whatever its rules are now. --check says so (DRIFT, exit 1).
 */
const lab = kernelLab();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const open = (port: number) => `version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: ${port} }\n`;

describe.runIf(lab.ok)('apply.sh --check reports an interrupted apply', () => {
  const backend = lab.ok ? lab.backends[0]! : 'nft';
  const t = new Throwaway();
  afterAll(() => t.destroy());
  const folder = (port: number) => t.folder(compile(open(port), 'c.yaml', 'c.yaml').artifacts!);

  it('the rules are what the files load, but inflight/ is left: DRIFT, exit 1, naming the record', () => {
    const ns = t.makeNs('chk');
    const state = join(t.stateDir, 'settled');
    const env = [`IPFENCE_STATE_DIR=${state}`];
    const dir = folder(7100);
    expect(t.applyIn(ns, backend, dir, [], env).status).toBe(0);
    // A killed run's half-written folder: the next apply removes it; --check changes nothing.
    mkdirSync(join(state, 'inflight.new'), { mode: 0o700 });
    const ok = t.applyIn(ns, backend, dir, ['--check'], env);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout.split('\n')[0]).toMatch(/^ipfence check: OK: /);
    expect(existsSync(join(state, 'inflight.new'))).toBe(true);
    expect(t.applyIn(ns, backend, dir, [], env).status).toBe(0);
    expect(existsSync(join(state, 'inflight.new'))).toBe(false);
    // What a run killed after loading both families, before its commit, leaves: the new rules
    // live, and the record of the state before them. (A control character in the record's text
    // must not reach the answer line.)
    mkdirSync(join(state, 'inflight'), { mode: 0o700 });
    writeFileSync(join(state, 'inflight', 'about'), 'c.yaml, sha256 0123, started today\x1b[2J\r\n');
    const check = t.applyIn(ns, backend, dir, ['--check'], env);
    expect(check.status, check.stderr).toBe(1);
    const first = check.stdout.split('\n')[0]!;
    expect(first).toMatch(/^ipfence check: DRIFT: /);
    expect(first).toContain('an apply was stopped half way through its change (c.yaml, sha256 0123, started today[2J;');
    expect(first).toContain(`${state}/inflight is its record`);
    expect(first).not.toMatch(/[\x00-\x1f]/);
  });

  it('a real SIGKILL between the families: the answer line says the apply was stopped half way', async () => {
    const ns = t.makeNs('chkkill');
    const state = join(t.stateDir, 'killed');
    const env = [`IPFENCE_STATE_DIR=${state}`];
    expect(t.applyIn(ns, backend, folder(7000), [], env).status).toBe(0);
    const slow = t.folder([]);
    writeFileSync(join(slow, 'ip6tables-slow-save'), `#!/bin/sh\nexec ip6tables-${backend}-save "$@"\n`, { mode: 0o755 });
    writeFileSync(join(slow, 'ip6tables-slow-restore'), `#!/bin/sh\nsleep 8\nexec ip6tables-${backend}-restore "$@"\n`, { mode: 0o755 });
    writeFileSync(join(slow, 'ip6tables-slow'), `#!/bin/sh\nexec ip6tables-${backend} "$@"\n`, { mode: 0o755 });
    const next = folder(7001);
    const child = spawn('ip', ['netns', 'exec', ns.name, 'env', `IPFENCE_IPTABLES=iptables-${backend}`, `IPFENCE_IP6TABLES=${slow}/ip6tables-slow`, `IPFENCE_STATE_DIR=${state}`, `IPFENCE_LOCK=${t.stateDir}/lock`, 'sh', join(next, 'apply.sh')], { detached: true, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Killed once IPv4 is new (IPv6's restore is still sleeping).
    for (let i = 0; i < 100 && !ns.save(backend, 'ipv4').includes('--dport 7001'); i++) await sleep(100);
    expect(ns.save(backend, 'ipv4')).toContain('--dport 7001');
    process.kill(-child.pid!, 'SIGKILL');
    await exited;
    expect(existsSync(join(state, 'inflight')), 'the record of the change').toBe(true);
    for (const dir of [next, folder(7000)]) {
      const check = t.applyIn(ns, backend, dir, ['--check'], env);
      expect(check.status, check.stderr).toBe(1);
      expect(check.stdout.split('\n')[0]).toContain('an apply was stopped half way through its change (c.yaml');
    }
    // The next apply repairs first; then the host is settled again.
    expect(t.applyIn(ns, backend, next, [], env).status).toBe(0);
    expect(t.applyIn(ns, backend, next, ['--check'], env).status).toBe(0);
  }, 60_000);
});
