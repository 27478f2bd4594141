import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Artifact } from '../../src/emit/emit.js';
import { compile } from '../../src/pipeline.js';
import { kernelLab, run, type XtablesVariant } from '../../src/verify/netns.js';
import { addr, withLab, type Family, type Host, type Lab } from '../helpers/lab.js';

/**
 * apply.sh under faults, on both back ends: the Nth external command it runs fails, or the whole
 * run is SIGKILLed at that command, for every N; the state folder fills up at each write; --boot
 * meets a file the kernel refuses. After each, the namespace holds exactly the old state or the
 * new one (rules of both families, sets, routing, confirm state), or a record the next run repairs,
 * and the next apply recovers.
 */
const lab = kernelLab();
const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
const C1 = { ipv4: '192.0.2.2', ipv6: '2001:db8:99::2' };
const C2 = { ipv4: '192.0.2.3', ipv6: '2001:db8:99::3' };
const TOOL = { ipv4: 'iptables', ipv6: 'ip6tables' } as const;

function build(policy: string): readonly Artifact[] {
  const r = compile(policy, 'faults.yaml', 'faults.yaml');
  if (!r.artifacts) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.artifacts;
}

/** Old: c1 listed (a set), no routing. New: c2 listed, and a mark with its ip rule and route. */
const OLD = `version: 1
defaults: { input: drop, set-threshold: 1 }
inbound:
  - { name: listed, port: 7000, from: [${C1.ipv4}, 203.0.113.1, "${C1.ipv6}", "2001:db8:1::1"] }
`;
const NEW = `version: 1
defaults: { input: drop, set-threshold: 1 }
inbound:
  - { name: listed, port: 7000, from: [${C2.ipv4}, 203.0.113.1, "${C2.ipv6}", "2001:db8:1::1"] }
marks:
  - { name: via-c2, proto: tcp, port: 7001, mark: 1, table: 100, via: [${C2.ipv4}, "${C2.ipv6}"] }
`;

/** Everything apply.sh changes in a namespace, counters and comments aside, tables sorted (one exec). */
function snapshot(l: Lab, backend: XtablesVariant, h: Host = l.server): string {
  const script = `set -e; ${TOOL.ipv4}-${backend}-save; echo @@; ${TOOL.ipv6}-${backend}-save; echo @@; ipset save; echo @@; ip -4 rule show; ip -4 route show table 100 2>/dev/null || true; ip -6 rule show; ip -6 route show table 100 2>/dev/null || true`;
  const r = h.ns.exec(['sh', '-c', script]);
  l.check(r, 'snapshot');
  const [v4 = '', v6 = '', sets = '', routing = ''] = r.stdout.split('@@\n');
  const rules = [v4, v6].map((text) => {
    const lines = text.split('\n').filter((x) => x !== '' && !x.startsWith('#')).map((x) => x.replace(/ \[\d+:\d+\]$/, ''));
    return lines.join('\n').split(/\n(?=\*)/).sort().join('\n');
  });
  const members = sets.split('\n').filter((x) => /^(add|create) ipf-/.test(x)).map((x) => x.replace(/ initval 0x[0-9a-f]+/, '')).sort();
  return [...rules, ...members, routing].join('\n');
}

/**
 * A folder of wrappers, first on PATH, for the commands apply.sh runs: each call counts, and the
 * Nth (FAULT_AT) fails, or SIGKILLs every apply.sh process above it (FAULT_KILL=1).
 */
function shims(l: Lab, backend: XtablesVariant): string {
  const dir = l.folder([]);
  const names = ['cp', 'mv', 'ip', 'ipset', ...FAMILIES.flatMap((f) => ['', '-restore', '-save'].map((s) => `${TOOL[f]}-${backend}${s}`))];
  for (const name of names) {
    const real = run(['sh', '-c', `command -v ${name}`]).stdout.trim();
    if (real === '') throw new Error(`${name} is not installed`);
    writeFileSync(
      join(dir, name),
      `#!/bin/sh
n=$(( $(cat "$FAULT_COUNT" 2>/dev/null || echo 0) + 1 ))
echo "$n" >"$FAULT_COUNT"
if [ "$n" = "$FAULT_AT" ]; then
	echo "fault: call $n ($(basename "$0") $*) fails" >&2
	if [ "\${FAULT_KILL-}" = 1 ]; then
		p=$PPID
		while [ "$p" -gt 1 ]; do
			case "$(tr '\\0' ' ' </proc/$p/cmdline 2>/dev/null)" in *apply.sh*) kill -9 "$p" ;; esac
			p=$(awk '{ print $4 }' /proc/$p/stat 2>/dev/null || echo 1)
		done
	fi
	exit 1
fi
exec ${real} "$@"
`,
      { mode: 0o755 },
    );
  }
  return dir;
}

describe.runIf(lab.ok).each(lab.ok ? lab.backends : [])('apply.sh under faults (%s back end)', (backend) => {
  it('the Nth command fails, or the run is SIGKILLed there, for every N: old or new exactly (or a record), and the next apply recovers', async () => {
    await withLab(async (l) => {
      const dirs = { old: l.folder(build(OLD)), new: l.folder(build(NEW)) };
      const shimDir = shims(l, backend);
      const counter = join(l.folder([]), 'count');
      const applyOk = (which: 'old' | 'new', args: string[] = []) => {
        const r = l.runApply(backend, dirs[which], args);
        expect(r.status, `${which}\n${r.stderr}`).toBe(0);
      };
      applyOk('old');
      const states = { old: snapshot(l, backend), new: '' };
      applyOk('new');
      states.new = snapshot(l, backend);
      expect(states.new).not.toBe(states.old);
      // Every N, for failures and for SIGKILL, across the two back ends: each takes every other N
      // (in time: about 45 commands per apply, two applies per N).
      const offset = lab.ok ? lab.backends.indexOf(backend) % 2 : 0;
      let from: 'old' | 'new' = 'new';
      for (const kill of [false, true]) {
        for (let n = 1 + ((offset + (kill ? 1 : 0)) % 2); ; n += 2) {
          const to: 'old' | 'new' = from === 'old' ? 'new' : 'old';
          rmSync(counter, { force: true });
          const r = l.runApply(backend, dirs[to], [], l.server, [`PATH=${shimDir}:${process.env.PATH}`, `FAULT_COUNT=${counter}`, `FAULT_AT=${n}`, `FAULT_KILL=${kill ? 1 : 0}`]);
          const calls = Number(readFileSync(counter, 'utf8'));
          const what = `${kill ? 'SIGKILL' : 'failure'} at call ${n} (${from} -> ${to}): status ${r.status}\n${r.stderr}`;
          const now = snapshot(l, backend);
          const record = existsSync(join(l.stateDir, 'inflight'));
          expect(existsSync(join(l.stateDir, 'pending')), what).toBe(false);
          if (r.status === 0) {
            expect(now, what).toBe(states[to]);
            expect(record, what).toBe(false);
          } else if (!kill) {
            // A failure: rolled back (1), never unknown (3), and nothing left to repair.
            expect(r.status, what).toBe(1);
            expect(now, what).toBe(states[from]);
            expect(record, what).toBe(false);
          } else if (!record) {
            // Killed before the change began or after its commit.
            expect([states[from], states[to]], what).toContain(now);
          }
          // The next apply (of the same files, no fault) recovers; needed only when the run was
          // killed (a record to repair) — after a rollback the next N starts from the old state.
          if (kill && (record || now !== states[from])) {
            const again = l.runApply(backend, dirs[to]);
            expect(again.status, `${what}\nthen: ${again.stderr}`).toBe(0);
            if (record) expect(again.stderr, what).toContain('was stopped half way through a change');
            expect(snapshot(l, backend), what).toBe(states[to]);
            from = to;
          } else if (now === states[to]) {
            from = to;
          }
          if (calls < n) break;
        }
      }
    });
  }, 600_000);

  it('--boot with a file the kernel refuses loads the last policy that ran; with none, a fallback that is closed but keeps the policy\'s SSH', async () => {
    const good = `version: 1\ndefaults: { input: drop }\ninbound:\n  - { name: ssh, port: 22, from: [${C1.ipv4}, "${C1.ipv6}"] }\n  - { name: app, port: 7000 }\n`;
    await withLab(async (l) => {
      await l.serve(l.server, ['tcp:22', 'tcp:7000']);
      // The same policy, with an IPv6 file the kernel refuses (as ip6tables-restore refuses an irc helper).
      const refused = l.folder(build(good));
      const v6 = join(refused, 'rules.v6');
      writeFileSync(v6, readFileSync(v6, 'utf8').replace('\nCOMMIT\n', '\n-A IPFENCE-INPUT -j IPFENCE-NO-SUCH-CHAIN\nCOMMIT\n'));

      // No policy ever ran here: the fallback.
      const boot = l.runApply(backend, refused, ['--boot']);
      expect(boot.status, boot.stderr).toBe(1);
      expect(boot.stderr).toContain('refused rules.v6');
      expect(boot.stderr).toContain('loading the fallback');
      for (const f of FAMILIES) {
        expect(l.server.ns.exec([`${TOOL[f]}-${backend}`, '-S', 'INPUT']).stdout.split('\n')[0], f).toBe('-P INPUT DROP');
        expect(l.connect(l.c1, addr(l.server, f), 22), `${f}: the policy's SSH is kept`).toBe('srv:22');
        expect(l.connect(l.c2, addr(l.server, f), 22, { timeoutMs: 400 }), `${f}: SSH from elsewhere is not`).not.toBe('srv:22');
        expect(l.connect(l.c1, addr(l.server, f), 7000, { timeoutMs: 400 }), `${f}: the rest is closed`).toBe('timeout');
      }

      // A policy ran here (and so was kept as the last good one): --boot of the refused file loads it.
      const lastGood = `version: 1\ndefaults: { input: drop }\ninbound:\n  - { name: app, port: 7000 }\n  - { name: ssh, port: 22 }\n`;
      const ok = l.runApply(backend, l.folder(build(lastGood)));
      expect(ok.status, ok.stderr).toBe(0);
      const before = snapshot(l, backend);
      const rebooted: Host = { ...l.server, name: 'rebooted', ns: l.makeNs('reboot') };
      const again = l.runApply(backend, refused, ['--boot'], rebooted);
      expect(again.status, again.stderr).toBe(1);
      expect(again.stderr).toContain('loaded the last policy that ran here instead (faults.yaml');
      expect(snapshot(l, backend, rebooted).split('\n').filter((x) => x.startsWith('-A ')).join('\n')).toBe(before.split('\n').filter((x) => x.startsWith('-A ')).join('\n'));
    });
  });

  it('--boot whose scratch folder (/run) is full: the fallback, never an open host, whatever write fails', async () => {
    const good = `version: 1\ndefaults: { input: drop }\ninbound:\n  - { name: ssh, port: 22, from: [${C1.ipv4}, "${C1.ipv6}"] }\n`;
    await withLab(async (l) => {
      const dir = l.folder(build(good));
      // A private mount namespace whose /run is a full 16 KiB tmpfs: apply.sh's scratch files cannot
      // be written (a plain write under set -e, not one of its checked ones, fails first).
      const holder = l.spawnIn(l.server.ns, ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=16k,mode=0755 ipfence-run /run && { cat /dev/zero >/run/fill 2>/dev/null; echo ready; } && exec sleep 600']);
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (d: Buffer) => (d.toString().includes('ready') ? resolve() : undefined));
        holder.on('exit', () => reject(new Error('the tmpfs holder exited')));
      });
      const r = run(['nsenter', '-t', String(holder.pid), '-m', '-n', 'env', `IPFENCE_IPTABLES=iptables-${backend}`, `IPFENCE_IP6TABLES=ip6tables-${backend}`, `IPFENCE_STATE_DIR=${l.stateDir}`, `IPFENCE_LOCK=${l.stateDir}/lock`, 'sh', join(dir, 'apply.sh'), '--boot']);
      holder.kill('SIGKILL');
      expect(r.status, r.stderr).not.toBe(0);
      expect(r.stderr).toContain('loading the fallback');
      for (const f of FAMILIES) expect(l.server.ns.exec([`${TOOL[f]}-${backend}`, '-S', 'INPUT']).stdout.split('\n')[0], f).toBe('-P INPUT DROP');
    });
  });

  it('an apply whose report cannot be written (stdout full) still exits 0: the policy is live', async () => {
    await withLab(async (l) => {
      const dir = l.folder(build(NEW));
      const r = l.server.ns.exec(['sh', '-c', 'exec "$@" >/dev/full', 'sh', 'env', `IPFENCE_IPTABLES=iptables-${backend}`, `IPFENCE_IP6TABLES=ip6tables-${backend}`, `IPFENCE_STATE_DIR=${l.stateDir}`, `IPFENCE_LOCK=${l.stateDir}/lock`, 'sh', join(dir, 'apply.sh')]);
      expect(r.status, r.stderr).toBe(0);
      expect(l.server.ns.exec([`iptables-${backend}`, '-S', 'IPFENCE-INPUT']).status).toBe(0);
    });
  });
});

// One back end is enough for a full disk (apply.sh's writes are the same on both); a describe of its
// own, so that the other back end does not count it as skipped.
describe.runIf(lab.ok)('apply.sh with a full state folder (first back end)', () => {
  const backend: XtablesVariant = lab.ok ? lab.backends[0]! : 'nft';
  it('a full state folder at each write (a tiny tmpfs in a private mount namespace): plain and --confirm applies fail before any change, or succeed whole', async () => {
    await withLab(async (l) => {
      const state = mkdtempSync(join(tmpdir(), 'ipfence-full-'));
      try {
        // A process whose private mount namespace has a 512 KiB tmpfs on the state folder; every
        // apply below runs in it (nsenter), never filling a real disk.
        const holder = l.spawnIn(l.server.ns, ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=512k,mode=0700 ipfence-full ${state} && echo ready && exec sleep 600`]);
        await new Promise<void>((resolve, reject) => {
          holder.stdout.on('data', (d: Buffer) => (d.toString().includes('ready') ? resolve() : undefined));
          holder.on('exit', () => reject(new Error('the tmpfs holder exited')));
        });
        const inside = (argv: string[]) => run(['nsenter', '-t', String(holder.pid), '-m', '-n', ...argv]);
        const dirs = { old: l.folder(build(OLD)), new: l.folder(build(NEW)) };
        const apply = (which: 'old' | 'new', args: string[] = []) =>
          inside(['env', `IPFENCE_IPTABLES=iptables-${backend}`, `IPFENCE_IP6TABLES=ip6tables-${backend}`, `IPFENCE_STATE_DIR=${state}`, 'sh', join(dirs[which], 'apply.sh'), ...args]);
        const has = (name: string) => inside(['test', '-e', join(state, name)]).status === 0;
        const ok = (r: { status: number; stderr: string }, what: string) => expect(r.status, `${what}\n${r.stderr}`).toBe(0);
        ok(apply('old'), 'old');
        const states = { old: snapshot(l, backend), new: '' };
        ok(apply('new'), 'new');
        states.new = snapshot(l, backend);
        ok(apply('old'), 'old again');
        let outcomes = '';
        for (const confirm of [false, true]) {
          for (const freePages of [0, 3, 8, 24, 64]) {
            const what = `${confirm ? '--confirm' : 'plain'} apply with ${freePages} pages free`;
            ok(inside(['sh', '-c', `cat /dev/zero >"$1/fill" 2>/dev/null; truncate -s -${freePages * 4}K "$1/fill"`, 'sh', state]), 'fill');
            const r = apply('new', confirm ? ['--confirm', '60'] : []);
            outcomes += `${what}: ${r.status}\n`;
            if (r.status === 0) {
              expect(snapshot(l, backend), what).toBe(states.new);
              expect(has('pending'), `${what}: a watcher waits`).toBe(confirm);
              if (confirm) expect(inside(['sh', '-c', 'read -r p b <"$1/pending/watcher" && kill -0 "$p"', 'sh', state]).status, `${what}: its watcher runs`).toBe(0);
            } else {
              expect(r.status, `${what}\n${r.stderr}`).toBe(1);
              expect(r.stderr, what).toContain('nothing was changed');
              expect(snapshot(l, backend), what).toBe(states.old);
              expect(has('pending') || has('inflight'), `${what}: no pending nor record left`).toBe(false);
            }
            ok(inside(['rm', '-f', join(state, 'fill')]), 'unfill');
            if (r.status === 0 && confirm) ok(apply('new', ['--confirmed']), 'confirmed');
            if (r.status !== 0) {
              // With room again, the next apply succeeds.
              ok(apply('new'), `${what}: then with room`);
              expect(snapshot(l, backend)).toBe(states.new);
            }
            ok(apply('old'), 'back to the old policy for the next case');
          }
        }
        // Both outcomes were met: the folder was full at some write, and had room at others.
        expect(outcomes).toMatch(/: 1$/m);
        expect(outcomes).toMatch(/: 0$/m);
        holder.kill('SIGKILL');
      } finally {
        rmSync(state, { recursive: true, force: true });
      }
    });
  }, 600_000);
});
