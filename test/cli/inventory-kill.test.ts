import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { faultPoints } from '../../src/cli/write-atomic.js';
import { checkoutTmp, memoryIO } from '../helpers/io.js';

/*
 * A compile killed at each step of its write. The fault point's promise never resolves, so no
 * catch or finally of the compile runs: the folders are left exactly as SIGKILL would leave them.
 * The lock files then name our own (living) pid; a killed compile's would name a dead one, so the
 * test writes one in (lockFolder takes over such a lock, as after a real kill).
 */

const OLD_POLICY = 'version: 1\ninbound:\n  - { name: ssh, port: 22 }\n';
const NEW_POLICY = 'version: 1\ninbound:\n  - { name: ssh, port: 22 }\n  - { name: web, port: 443 }\naddresses:\n  many: [192.0.2.0/28, 198.51.100.0/28, 203.0.113.0/28, 192.0.2.16/28, 192.0.2.32/28, 192.0.2.48/28, 192.0.2.64/28, 192.0.2.80/28, 192.0.2.96/28, 192.0.2.112/28]\noutbound:\n  - { name: no-many, to: many, action: drop }\n';
const OLD_HOSTS = 'version: 1\nhosts:\n  a1: { policy: p.yaml }\n';
const NEW_HOSTS = 'version: 1\nhosts:\n  a1: { policy: p.yaml }\n  c3: { policy: p.yaml }\n';
const BROKEN = 'version: 1\ninbound: [\n';

/**
 * Every file under `dir` (not the locks) with its content and mode; without a killed compile's
 * temp files when `withTemps` is false (apply.sh never reads them; the next write removes them).
 */
function snapshot(dir: string, withTemps = true): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name !== '.ipfence.lock' && (withTemps || !/\.ipfence-\d+-[0-9a-f]+\.tmp(\.old)?$/.test(name))) out[relative(dir, p)] = `${(statSync(p).mode & 0o777).toString(8)} ${readFileSync(p, 'utf8')}`;
    }
  };
  walk(dir);
  return out;
}

function deadLocks(dir: string): void {
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name === '.ipfence.lock') writeFileSync(p, '99999999\n');
    }
  };
  walk(dir);
}

async function compile(dir: string, policy: string, hosts: string) {
  writeFileSync(join(dir, 'p.yaml'), policy);
  writeFileSync(join(dir, 'hosts.yaml'), hosts);
  const { io, out } = memoryIO('', { cwd: dir });
  const code = await main(['compile', '--inventory', 'hosts.yaml', '-o', join(dir, 'out'), '-f', 'gcc'], io);
  return { code, said: out.stdout + out.stderr };
}

/** Starts a compile that stops for good at its `at`th step; resolves with the step's name once it is there (or null if it finished first). */
function killedAt(dir: string, at: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    let n = 0;
    faultPoints.hook = (step) => {
      if (++n !== at) return undefined;
      resolve(step);
      return new Promise(() => {});
    };
    compile(dir, NEW_POLICY, NEW_HOSTS).then(
      (r) => (r.code === 0 ? resolve(null) : reject(new Error(r.said))),
      reject,
    );
  });
}

afterEach(() => {
  delete faultPoints.hook;
});

describe('compile --inventory killed at any step of its write', () => {
  it('leaves OUT exactly old, or exactly new after the next compile (even one that fails), and never loses a backup', async () => {
    const dir = checkoutTmp('ipfence-inv-kill-');
    const out = join(dir, 'out');
    expect((await compile(dir, OLD_POLICY, OLD_HOSTS)).code).toBe(0);
    const before = snapshot(out);
    expect((await compile(dir, NEW_POLICY, NEW_HOSTS)).code).toBe(0);
    const after = snapshot(out);
    expect(Object.keys(after)).toContain('c3/rules.v4');
    expect(after['a1/rules.v4']).not.toBe(before['a1/rules.v4']);
    const steps: string[] = [];
    for (let at = 1; ; at++) {
      rmSync(out, { recursive: true });
      expect((await compile(dir, OLD_POLICY, OLD_HOSTS)).code).toBe(0);
      expect(snapshot(out)).toEqual(before);
      const step = await killedAt(dir, at);
      delete faultPoints.hook;
      if (step === null) break;
      steps.push(step);
      deadLocks(out);
      // The next compile fails on its policy; what it found is still put right first.
      const failing = await compile(dir, BROKEN, NEW_HOSTS);
      expect(failing.code, failing.said).not.toBe(0);
      const now = snapshot(out, false);
      const which = JSON.stringify(now) === JSON.stringify(before) ? 'old' : JSON.stringify(now) === JSON.stringify(after) ? 'new' : 'mixed';
      expect(which, `killed at step ${at} (${step}): ${failing.said}`).not.toBe('mixed');
      // Renaming had begun: what a backup held is back, not deleted.
      if (step.startsWith('rename')) expect(which, step).toBe('old');
      if (step === 'placed' || step.startsWith('drop')) expect(which, step).toBe('new');
      const again = await compile(dir, NEW_POLICY, NEW_HOSTS);
      expect(again.code, again.said).toBe(0);
      expect(snapshot(out), `after step ${at} (${step})`).toEqual(after);
    }
    // Every kind of step was reached: backups, the record, each rename, the mark, each backup dropped.
    expect(steps.filter((s) => s.startsWith('rename')).length).toBeGreaterThanOrEqual(6);
    expect(steps).toContain('journal');
    expect(steps).toContain('placed');
    expect(steps.some((s) => s.startsWith('backup'))).toBe(true);
    expect(steps.some((s) => s.startsWith('drop'))).toBe(true);
  }, 120_000);

  it("a single-host compile into a host's folder never deletes a backup the inventory's record needs", async () => {
    const dir = checkoutTmp('ipfence-inv-kill-');
    const out = join(dir, 'out');
    expect((await compile(dir, OLD_POLICY, OLD_HOSTS)).code).toBe(0);
    const before = snapshot(out);
    let renamed = 0;
    const stopped = new Promise<void>((resolve) => {
      faultPoints.hook = (step) => {
        if (!step.startsWith('rename') || ++renamed !== 2) return undefined;
        resolve();
        return new Promise(() => {});
      };
    });
    void compile(dir, NEW_POLICY, OLD_HOSTS);
    await stopped;
    delete faultPoints.hook;
    deadLocks(out);
    // check --against says the folder is half written, and changes nothing.
    const against = memoryIO('', { cwd: dir });
    expect(await main(['check', 'p.yaml', '--against', join(out, 'a1'), '-f', 'gcc'], against.io)).toBe(1);
    expect(against.out.stdout).toContain(`the files in ${join(out, 'a1')} are from a compile that was killed while writing them (its record is ${join(out, '.ipfence-commit.json')})`);
    expect(existsSync(join(out, '.ipfence-commit.json'))).toBe(true);
    writeFileSync(join(dir, 'p.yaml'), NEW_POLICY);
    const { io, out: said } = memoryIO('', { cwd: dir });
    const code = await main(['compile', 'p.yaml', '-o', join(out, 'a1'), '-f', 'gcc'], io);
    expect(code).toBe(2);
    expect(said.stderr).toContain('is the only copy of');
    expect(said.stderr).toContain('run that compile again');
    // The inventory's next compile still finds every backup and puts the folder back.
    const failing = await compile(dir, BROKEN, OLD_HOSTS);
    expect(failing.said).toContain('put back the files it had replaced');
    expect(snapshot(out)).toEqual(before);
    expect(existsSync(join(out, '.ipfence-commit.json'))).toBe(false);
  });

  it.each([
    ['a folder outside OUT', { version: 1, state: 'placing', folders: [{ dir: '..', suffix: '.ipfence-1-ab.tmp', files: [{ file: 'p.yaml', backup: false }], optional: [], produced: [] }] }, 'not in the form ipfence writes'],
    ['a file with a path', { version: 1, state: 'placing', folders: [{ dir: 'a1', suffix: '.ipfence-1-ab.tmp', files: [{ file: '../../p.yaml', backup: false }], optional: [], produced: [] }] }, 'not in the form ipfence writes'],
    ['a suffix that is not a temp name', { version: 1, state: 'placing', folders: [{ dir: 'a1', suffix: '', files: [{ file: 'rules.v4', backup: true }], optional: [], produced: [] }] }, 'not in the form ipfence writes'],
    ['not JSON', 'rm -rf /', 'is not valid JSON'],
  ])('a record naming %s is refused, and nothing is touched', async (_what, record, message) => {
    const dir = checkoutTmp('ipfence-inv-record-');
    const out = join(dir, 'out');
    expect((await compile(dir, OLD_POLICY, OLD_HOSTS)).code).toBe(0);
    const before = snapshot(out);
    writeFileSync(join(out, '.ipfence-commit.json'), typeof record === 'string' ? record : JSON.stringify(record));
    const r = await compile(dir, NEW_POLICY, OLD_HOSTS);
    expect(r.code).toBe(2);
    expect(r.said).toContain(message);
    // Not a file outside OUT was touched (p.yaml is the policy just written).
    expect(readFileSync(join(dir, 'p.yaml'), 'utf8')).toBe(NEW_POLICY);
    delete before['.ipfence-commit.json'];
    const now = snapshot(out);
    delete now['.ipfence-commit.json'];
    expect(now).toEqual(before);
  });

  /*
   * A record committed to the checkout (-o defaults to `.`): its names have the right shape, but
   * acting on it would swap or delete files ipfence never wrote. Each is refused, nothing changes.
   */
  const HEADER = '# Generated by ipfence 0.1.0 from p.yaml (sha256 00). Do not edit: change the policy and recompile.\n';
  const placing = (dir: string, file: string, backup: boolean) => ({ version: 1, state: 'placing', folders: [{ dir, suffix: '.ipfence-1-ab.tmp', files: [{ file, backup }], optional: [], produced: [] }] });
  it.each([
    ['the policy, to swap it for an accept-all backup', { 'policy.yaml': NEW_POLICY, 'policy.yaml.ipfence-1-ab.tmp.old': 'version: 1\ndefaults: { input: accept }\n' }, placing('.', 'policy.yaml', true), 'names policy.yaml, which is not a file ipfence writes'],
    ['hosts.yaml, to delete it', { 'hosts.yaml': OLD_HOSTS }, placing('.', 'hosts.yaml', false), 'names hosts.yaml, which is not a file ipfence writes'],
    ['NOTES.md in a folder, to delete it', { 'docs/NOTES.md': 'notes\n' }, placing('docs', 'NOTES.md', false), 'names docs/NOTES.md, which is not a file ipfence writes'],
    ['a folder that is not a host name', { '.git/rules.v4': HEADER }, placing('.git', 'rules.v4', false), 'not in the form ipfence writes'],
    ['a backup without the header', { 'a1/rules.v4.ipfence-1-ab.tmp.old': 'hand-written\n' }, placing('a1', 'rules.v4', true), "rules.v4.ipfence-1-ab.tmp.old, which does not start with ipfence's header"],
    ['an output file without the header, to delete it', { 'a1/rules.v6': 'hand-written\n' }, placing('a1', 'rules.v6', false), "would remove", ],
    ['an optional output the record says was produced elsewhere', { 'NOTES.md': 'notes\n' }, { version: 1, state: 'placed', folders: [{ dir: '.', suffix: '.ipfence-1-ab.tmp', files: [], optional: ['NOTES.md'], produced: [] }] }, 'names NOTES.md, which is not a file ipfence writes'],
  ])('a record naming %s is refused with every file untouched', async (_what, files, record, message) => {
    const dir = checkoutTmp('ipfence-inv-record-');
    const out = join(dir, 'out');
    expect((await compile(dir, OLD_POLICY, OLD_HOSTS)).code).toBe(0);
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(out, name)), { recursive: true });
      writeFileSync(join(out, name), text);
    }
    writeFileSync(join(out, '.ipfence-commit.json'), JSON.stringify(record));
    const before = snapshot(out);
    const r = await compile(dir, NEW_POLICY, OLD_HOSTS);
    expect(r.code).toBe(2);
    expect(r.said).toContain(message);
    expect(r.said).toContain('so nothing was done');
    expect(snapshot(out)).toEqual(before);
  });

  it('a compile of one policy into its own folder (as -o . in a checkout) never swaps the policy it compiles for a committed backup', async () => {
    const dir = checkoutTmp('ipfence-record-policy-');
    writeFileSync(join(dir, 'policy.yaml'), OLD_POLICY);
    writeFileSync(join(dir, 'policy.yaml.ipfence-1-ab.tmp.old'), 'version: 1\ndefaults: { input: accept }\n');
    writeFileSync(join(dir, '.ipfence-commit.json'), JSON.stringify(placing('.', 'policy.yaml', true)));
    const before = snapshot(dir);
    const { io, out } = memoryIO('', { cwd: dir });
    expect(await main(['compile', 'policy.yaml', '-o', dir, '-f', 'gcc'], io)).toBe(2);
    expect(out.stderr).toContain('names policy.yaml, which is not a file ipfence writes');
    expect(snapshot(dir)).toEqual(before);
  });

  it('a record that is a symbolic link, or names a host folder that became one, is refused', async () => {
    const dir = checkoutTmp('ipfence-inv-record-');
    const out = join(dir, 'out');
    expect((await compile(dir, OLD_POLICY, OLD_HOSTS)).code).toBe(0);
    const elsewhere = checkoutTmp('ipfence-elsewhere-');
    writeFileSync(join(elsewhere, 'rules.v4'), 'precious\n');
    const record = { version: 1, state: 'placing', folders: [{ dir: 'a1', suffix: '.ipfence-1-ab.tmp', files: [{ file: 'rules.v4', backup: false }], optional: [], produced: [] }] };
    writeFileSync(join(elsewhere, 'record.json'), JSON.stringify(record));
    symlinkSync(join(elsewhere, 'record.json'), join(out, '.ipfence-commit.json'));
    const linked = await compile(dir, NEW_POLICY, OLD_HOSTS);
    expect(linked.code).toBe(2);
    expect(linked.said).toContain('is not a small regular file');
    rmSync(join(out, '.ipfence-commit.json'));
    writeFileSync(join(out, '.ipfence-commit.json'), JSON.stringify(record));
    rmSync(join(out, 'a1'), { recursive: true });
    symlinkSync(elsewhere, join(out, 'a1'));
    const swapped = await compile(dir, NEW_POLICY, OLD_HOSTS);
    expect(swapped.code).toBe(2);
    expect(swapped.said).toContain('is a symbolic link');
    expect(readFileSync(join(elsewhere, 'rules.v4'), 'utf8')).toBe('precious\n');
  });
});
