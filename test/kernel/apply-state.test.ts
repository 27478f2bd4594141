import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';
import { kernelLab, run, type Netns } from '../../src/verify/netns.js';
import { Throwaway } from '../helpers/throwaway.js';

/**
 * apply.sh's state folder holds what root runs and loads later: a folder another user can change,
 * or a link anywhere on its way, is refused before any change, and never chmodded. One namespace
 * for all cases; each case checks the namespace's rules are still empty after the refusal.
 */
const lab = kernelLab();

describe.runIf(lab.ok)('apply.sh refuses a state folder that is not root\'s alone', () => {
  const backend = lab.ok ? lab.backends[0]! : 'nft';
  const t = new Throwaway();
  afterAll(() => t.destroy());
  const ns: Netns = lab.ok ? t.makeNs('state') : (undefined as never);
  const r = compile('version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: 22 }\n', 'state.yaml', 'state.yaml');
  const dir = t.folder(r.artifacts!);
  const root = mkdtempSync(join(tmpdir(), 'ipfence-statecases-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const empty = () => ns.save(backend, 'ipv4').split('\n').filter((l) => l.startsWith('-A ')).length === 0;
  const applyWith = (state: string) => t.applyIn(ns, backend, dir, [], [`IPFENCE_STATE_DIR=${state}`]);
  /** An ACL entry on `path` (setfacl ARGS path); acl is in .ci/run's packages, so a missing setfacl fails rather than skips. */
  const setfacl = (args: readonly string[], path: string): void => {
    const r = run(['setfacl', ...args, path]);
    if (r.status !== 0) throw new Error(`setfacl ${args.join(' ')} ${path} failed (apt-get install acl): ${r.stderr}`);
  };
  const fresh = (name: string, mode = 0o700): string => {
    const p = join(root, name);
    mkdirSync(p, { recursive: true, mode });
    chmodSync(p, mode);
    return p;
  };

  it.each([
    ['owned by another user', () => { const p = fresh('owned'); chownSync(p, 1000, 1000); return { state: p, message: 'is owned by uid 1000, not root' }; }],
    ['writable by its group', () => ({ state: fresh('group', 0o770), message: 'can be written by users other than root (mode drwxrwx---)' })],
    ['writable by everyone, even sticky', () => ({ state: fresh('world', 0o1777), message: 'can be written by users other than root' })],
    ['a symbolic link to a private folder', () => { const real = fresh('real'); const link = join(root, 'link'); symlinkSync(real, link); return { state: link, message: `${link}: is a symbolic link` }; }],
    ['under a symbolic link', () => { const real = fresh('real2'); const link = join(root, 'link2'); symlinkSync(real, link); return { state: join(link, 'state'), message: `${link}: is a symbolic link` }; }],
    ['under a folder another user owns (a deploy user\'s home)', () => { const home = fresh('home', 0o755); chownSync(home, 1000, 1000); const st = join(home, 'state'); mkdirSync(st, { mode: 0o700 }); return { state: st, message: `${home}: is owned by uid 1000, not root` }; }],
    ['holding a log that is a symbolic link', () => { const p = fresh('loglink'); symlinkSync('/etc/passwd-not-this', join(p, 'log')); return { state: p, message: `${join(p, 'log')}: is a symbolic link` }; }],
    ['holding a pending that is a symbolic link', () => { const p = fresh('pendinglink'); symlinkSync(fresh('elsewhere'), join(p, 'pending')); return { state: p, message: `${join(p, 'pending')}: is a symbolic link` }; }],
    ['holding an inflight record that is a regular file (--check said OK, every apply failed at its first write)', () => { const p = fresh('inflightfile'); writeFileSync(join(p, 'inflight'), 'x'); return { state: p, message: `${join(p, 'inflight')}: is not a folder apply.sh made` }; }],
    ['relative', () => ({ state: 'var/lib/ipfence', message: 'must be an absolute path' })],
    // Mode 0700 and root's, but an ACL lets uid 1000 write (ls shows the + and the mask as group bits).
    ['with an ACL granting another user write', () => { const p = fresh('acl'); setfacl(['-m', 'u:1000:rwx'], p); return { state: p, message: `${p}: has an access control list (mode drwxrwx---+)` }; }],
    ['with a default ACL only (what is created in it becomes writable by another user)', () => { const p = fresh('defacl'); setfacl(['-d', '-m', 'u:1000:rwx'], p); return { state: p, message: `${p}: has an access control list` }; }],
    ['under a folder with an ACL granting another user write', () => { const above = fresh('aclabove', 0o755); setfacl(['-m', 'u:1000:rwx'], above); const st = join(above, 'state'); mkdirSync(st, { mode: 0o700 }); return { state: st, message: `${above}: has an access control list` }; }],
  ])('%s: exit 1 before any change, the folder left as it was', (_what, setup) => {
    const { state, message } = setup();
    let before: string | undefined;
    try {
      before = `${statSync(state).mode} ${statSync(state).uid}`;
    } catch {
      before = undefined;
    }
    const run = applyWith(state);
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('nothing was changed');
    expect(empty(), 'no rule was loaded').toBe(true);
    if (before !== undefined) expect(`${statSync(state).mode} ${statSync(state).uid}`).toBe(before);
  });

  // The compiled files' own folder: another user who can write there could swap rules.v4 (keeping
  // its header) or apply.sh itself before root's next run.
  it.each([
    ['a folder its group can write', (d: string) => { chmodSync(d, 0o775); return 'can be written by users other than root (mode drwxrwxr-x)'; }],
    ['a folder another user owns', (d: string) => { chownSync(d, 1000, 1000); return 'is owned by uid 1000, not root'; }],
    ['a rules file another user owns', (d: string) => { chownSync(join(d, 'rules.v4'), 1000, 1000); return `${join(d, 'rules.v4')}: is owned by uid 1000, not root`; }],
    ['a rules file others can write', (d: string) => { chmodSync(join(d, 'rules.v4'), 0o666); return 'can be written by users other than root (mode -rw-rw-rw-)'; }],
    ['apply.sh that others can write', (d: string) => { chmodSync(join(d, 'apply.sh'), 0o777); return `${join(d, 'apply.sh')}: can be written by users other than root`; }],
    ['a folder with an ACL granting another user write', (d: string) => { setfacl(['-m', 'u:1000:rwx'], d); return `${d}: has an access control list`; }],
    ['a rules file with an ACL granting another user write', (d: string) => { setfacl(['-m', 'u:1000:rw'], join(d, 'rules.v4')); return `${join(d, 'rules.v4')}: has an access control list`; }],
    ['apply.sh with an ACL granting another user write', (d: string) => { setfacl(['-m', 'u:1000:rwx'], join(d, 'apply.sh')); return `${join(d, 'apply.sh')}: has an access control list`; }],
  ])('the compiled files in %s: refused before any change', (_what, spoil) => {
    const d = t.folder(r.artifacts!);
    const message = spoil(d);
    const run = t.applyIn(ns, backend, d, [], [`IPFENCE_STATE_DIR=${fresh(`here-${Math.random().toString(16).slice(2)}`)}`]);
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('nothing was changed');
    expect(empty(), 'no rule was loaded').toBe(true);
  });

  it('a shared folder (like /var/lib) named as state folder is used as it is, never chmodded; a missing one is created private', () => {
    const shared = fresh('shared', 0o755);
    writeFileSync(join(shared, 'other-tool.db'), 'x');
    const ok = applyWith(shared);
    expect(ok.status, ok.stderr).toBe(0);
    expect(statSync(shared).mode & 0o7777).toBe(0o755);
    expect(readFileSync(join(shared, 'other-tool.db'), 'utf8')).toBe('x');
    const created = join(root, 'new', 'deeper', 'state');
    const again = applyWith(created);
    expect(again.status, again.stderr).toBe(0);
    expect(statSync(created).mode & 0o7777).toBe(0o700);
    expect(statSync(join(root, 'new')).mode & 0o7777).toBe(0o700);
  });

  it('--boot with a state folder it refuses loads the fallback, never what that folder holds', () => {
    const planted = fresh('planted');
    // What its owner put there: a "last policy" that opens everything.
    const lastGood = join(planted, 'last-good');
    mkdirSync(lastGood);
    writeFileSync(join(lastGood, 'mode'), 'full\n');
    for (const v of ['4', '6']) {
      writeFileSync(join(lastGood, `rules.v${v}`), '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -m comment --comment planted -j ACCEPT\nCOMMIT\n');
      writeFileSync(join(lastGood, `hooks.v${v}`), '');
    }
    writeFileSync(join(lastGood, 'routing'), '');
    chownSync(planted, 1000, 1000);
    const boot = t.applyIn(ns, backend, dir, ['--boot'], [`IPFENCE_STATE_DIR=${planted}`]);
    expect(boot.status, boot.stderr).toBe(1);
    expect(boot.stderr).toContain('is owned by uid 1000, not root');
    expect(boot.stderr).toContain('loading the fallback');
    for (const f of ['ipv4', 'ipv6'] as const) {
      const saved = ns.save(backend, f);
      expect(saved, f).toContain(':INPUT DROP');
      expect(saved, f).not.toContain('planted');
      expect(saved, f).toContain('--dport 22');
    }
  });
});
