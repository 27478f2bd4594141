import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../helpers/io.js';

const io = memoryIO;
const tmp = () => mkdtempSync(join(tmpdir(), 'ipfence-ci-'));
const WARN = 'version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: 80 }\n';

describe('severity and warning gates', () => {
  it('--strict and --max-warnings turn warnings into exit 1', async () => {
    expect(await main(['check', '-'], io(WARN).io)).toBe(0);
    expect(await main(['check', '-', '--strict'], io(WARN).io)).toBe(1);
    expect(await main(['check', '-', '--max-warnings', '1'], io(WARN).io)).toBe(0);
    expect(await main(['check', '-', '--max-warnings', '0'], io(WARN).io)).toBe(1);
  });
  it('--strict also stops compile from writing', async () => {
    const dir = tmp();
    expect(await main(['compile', '-', '-o', dir, '--strict'], io(WARN).io)).toBe(1);
    expect(() => readFileSync(join(dir, 'rules.v4'))).toThrow();
  });
  it('--severity re-grades a check and wins over the policy', async () => {
    const a = io(WARN);
    expect(await main(['check', '-', '--severity', 'ssh-lockout=error', '-f', 'gcc'], a.io)).toBe(1);
    expect(a.out.stdout).toContain('error: INPUT drops by default');
    const b = io(`${WARN}checks: { ssh-lockout: error }\n`);
    expect(await main(['check', '-', '--severity', 'ssh-lockout=off'], b.io)).toBe(0);
    expect(b.out.stdout).toBe('');
  });
  it('the policy can re-grade or turn off a check', async () => {
    expect(await main(['check', '-'], io(`${WARN}checks: { ssh-lockout: error }\n`).io)).toBe(1);
    const off = io(`${WARN}checks: { ssh-lockout: off }\n`);
    expect(await main(['check', '-', '--strict'], off.io)).toBe(0);
  });
  it('refuses to re-grade what the kernel would refuse', async () => {
    const { io: i, out } = io(WARN);
    expect(await main(['check', '-', '--severity', 'hook-reject=off'], i)).toBe(2);
    expect(out.stderr).toContain("'hook-reject' cannot be re-graded");
    const p = io(`${WARN}checks: { hook-reject: off }\n`);
    expect(await main(['check', '-', '-f', 'gcc'], p.io)).toBe(1);
    expect(p.out.stdout).toContain('[schema-value]');
  });
  it.each([['--severity', 'shadowed'], ['--severity', 'shadowed=loud'], ['--max-warnings', 'x']])('%s %s is a usage error', async (flag, value) => {
    expect(await main(['check', '-', flag, value], io(WARN).io)).toBe(2);
  });
});

describe('suppressions', () => {
  const policy = (suppress: string) => `version: 1\noutbound:\n  - name: block-host\n    to: 192.0.2.80\n    action: deny\n${suppress}`;
  it('silence a finding at its rule, with the reason kept in the policy', async () => {
    const before = io(policy(''));
    expect(await main(['check', '-', '-f', 'gcc'], before.io)).toBe(0);
    expect(before.out.stdout).toContain('[family-asymmetry]');
    const after = io(policy('    suppress: { family-asymmetry: "no IPv6 address" }\n'));
    expect(await main(['check', '-', '--strict'], after.io)).toBe(0);
    expect(after.out.stdout).toBe('');
  });
  it('report a suppression that silences nothing', async () => {
    const { io: i, out } = io(policy('    suppress: { family-asymmetry: "x", shadowed: "y" }\n'));
    expect(await main(['check', '-', '-f', 'gcc'], i)).toBe(0);
    expect(out.stdout).toBe("<stdin>:6:40: warning: 'shadowed' is suppressed here but this rule has no such finding; remove the entry [unused-suppression]\n");
  });
  it('need a reason', async () => {
    const { io: i, out } = io(policy('    suppress: { family-asymmetry: "" }\n'));
    expect(await main(['check', '-', '-f', 'gcc'], i)).toBe(1);
    expect(out.stdout).toContain('must not be empty');
  });
});

describe('many files and globs', () => {
  it('expands quoted globs itself and sorts the results', async () => {
    const { io: i, out } = io();
    expect(await main(['check', 'test/fixtures/_errors_/*/policy.yaml', '-f', 'gcc'], i)).toBe(1);
    const files = [...new Set(out.stdout.trim().split('\n').map((l) => l.split(':')[0]))];
    expect(files.length).toBeGreaterThan(5);
    expect(files).toEqual([...files].sort());
  });
  it('a glob that matches nothing is a usage error', async () => {
    const { io: i, out } = io();
    expect(await main(['check', 'nowhere/**/*.yaml'], i)).toBe(2);
    expect(out.stderr).toContain("no file matches 'nowhere/**/*.yaml'");
  });
});

describe('--against: committed outputs must match the policy', () => {
  it('passes when the folder holds exactly what the policy compiles to', async () => {
    const dir = tmp();
    expect(await main(['compile', 'examples/policy-routing.yaml', '-o', dir], io().io)).toBe(0);
    const { io: i, out } = io();
    expect(await main(['check', 'examples/policy-routing.yaml', '--against', dir], i)).toBe(0);
    expect(out.stdout).toBe('');
  });
  it('fails with a unified diff when a file was edited, is missing, or is no longer produced', async () => {
    const dir = tmp();
    expect(await main(['compile', 'examples/policy-routing.yaml', '-o', dir], io().io)).toBe(0);
    const v4 = join(dir, 'rules.v4');
    writeFileSync(v4, readFileSync(v4, 'utf8').replace('--set-mark 1', '--set-mark 2'));
    const edited = io();
    expect(await main(['check', 'examples/policy-routing.yaml', '--against', dir, '-f', 'gcc'], edited.io)).toBe(1);
    expect(edited.out.stdout).toContain(`--- ${v4}\tcommitted`);
    expect(edited.out.stdout).toMatch(/^-.*--set-mark 2.*$/m);
    expect(edited.out.stdout).toMatch(/^\+.*--set-mark 1.*$/m);
    expect(edited.out.stdout).toContain('[stale-artifact]');
    // A Docker policy's folder has ipfence-docker.service, which close-port.yaml does not produce.
    const other = tmp();
    expect(await main(['compile', 'examples/docker-host.yaml', '-o', other], io().io)).toBe(0);
    const stale = io();
    expect(await main(['check', 'examples/close-port.yaml', '--against', other], stale.io)).toBe(1);
    expect(stale.out.stdout).toContain(`--- ${join(other, 'ipfence-docker.service')}\tcommitted\n+++ /dev/null\tno longer produced`);
  });
  it('keeps stdout parseable for json', async () => {
    const dir = tmp();
    const { io: i, out } = io();
    expect(await main(['check', 'examples/close-port.yaml', '--against', dir, '-f', 'json'], i)).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject([{ code: 'stale-artifact' }]);
    expect(out.stderr).toContain('+++ ');
  });
  it('compares one policy with one folder', async () => {
    expect(await main(['check', 'examples/close-port.yaml', 'examples/web-server.yaml', '--against', tmp()], io().io)).toBe(2);
  });
});

describe('what the checks could not cover', () => {
  // 5,001 IPv4-only allows (others: pass): INPUT in rules.v4 is over shadowed's 5,000-rule limit.
  const long = `version: 1\ndefaults: { order: as-written }\ninbound:\n${Array.from({ length: 5001 }, (_, i) => `  - { port: ${1024 + i}, from: 10.0.${i >> 8}.${i & 255}, others: pass }\n`).join('')}`;
  it('a chain too long for shadowed is named in a note on stderr, for check and compile', async () => {
    const c = io(long);
    expect(await main(['check', '-', '-f', 'json', '--stdin-filename', 'big.yaml'], c.io)).toBe(0);
    expect(c.out.stderr).toBe("ipfence: note: big.yaml: 'shadowed' did not look at filter IPFENCE-INPUT (ipv4, 5,003 rules): it analyses chains of up to 5,000 rules (long address lists belong in sets)\n");
    // stdout stays the machine format's document.
    expect(JSON.parse(c.out.stdout)).toEqual([]);
    const k = io(long);
    expect(await main(['compile', '-', '-o', tmp()], k.io)).toBe(0);
    expect(k.out.stderr).toMatch(/^ipfence: note: <stdin>: 'shadowed' did not look at filter IPFENCE-INPUT \(ipv4, 5,003 rules\)/);
  });
  it('no note when every chain was analysed, or when shadowed is off', async () => {
    const small = io(WARN);
    expect(await main(['check', '-'], small.io)).toBe(0);
    expect(small.out.stderr).toBe('');
    const off = io(long);
    expect(await main(['check', '-', '--severity', 'shadowed=off'], off.io)).toBe(0);
    expect(off.out.stderr).toBe('');
    const offInPolicy = io(`${long}checks: { shadowed: off }\n`);
    expect(await main(['check', '-'], offInPolicy.io)).toBe(0);
    expect(offInPolicy.out.stderr).toBe('');
  });
});
