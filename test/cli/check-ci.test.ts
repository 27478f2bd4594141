import { readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { DEFAULT_MAX_BYTES } from '../../src/cli/read.js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { checkoutTmp, memoryIO } from '../helpers/io.js';

const io = memoryIO;
const tmp = () => checkoutTmp('ipfence-ci-');
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

describe('every check runs at every size', () => {
  // A long as-written chain of allowlisted ports, with a conflict planted at the end: a drop that
  // the first rules already accept. shadowed once skipped chains over 5,000 rules.
  const long = (n: number) =>
    `version: 1\ndefaults: { order: as-written }\ninbound:\n  - { name: web, port: 443 }\n${Array.from({ length: n }, (_, i) => `  - { port: ${1024 + (i % 60000)}, from: 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}, others: pass }\n`).join('')}  - { name: planted, port: 443, from: 192.0.2.9, action: drop }\n`;
  it.each([6000, 20000])('finds a conflict planted after %i rules, with nothing on stderr', async (n) => {
    const c = io(long(n));
    expect(await main(['check', '-', '-f', 'json', '--stdin-filename', 'big.yaml'], c.io)).toBe(1);
    expect(c.out.stderr).toBe('');
    const found = JSON.parse(c.out.stdout) as { code: string; line: number }[];
    expect(found.filter((d) => d.code === 'shadowed').map((d) => d.line)).toEqual([n + 5]);
  }, 60_000);
});

describe('hostile input: what is read, and what reaches a terminal', () => {
  it('--against refuses a committed symbolic link (to /proc/self/environ) at its path and prints nothing of it', async () => {
    process.env.IPFENCE_TEST_SECRET = 'hunter2-do-not-print';
    try {
      const dir = tmp();
      expect(await main(['compile', 'examples/close-port.yaml', '-o', dir], io().io)).toBe(0);
      rmSync(join(dir, 'rules.v4'));
      symlinkSync('/proc/self/environ', join(dir, 'rules.v4'));
      for (const format of ['gcc', 'json']) {
        const { io: i, out } = io();
        expect(await main(['check', 'examples/close-port.yaml', '--against', dir, '-f', format], i)).toBe(2);
        expect(out.stdout + out.stderr).not.toContain('hunter2');
        expect(out.stdout).toContain(`--against cannot read ${join(dir, 'rules.v4')}: it is a symbolic link; ipfence reads no file of the checkout through a symbolic link`);
      }
    } finally {
      delete process.env.IPFENCE_TEST_SECRET;
    }
  });

  it('refuses a device, a link to one, and a file outside the working directory (/proc) as a policy (exit 2)', async () => {
    const dir = tmp();
    symlinkSync('/dev/zero', join(dir, 'policy.yaml'));
    const outside = (p: string) => `${p}:1:1: error: cannot read the policy: it is outside the directory ipfence runs in (${process.cwd()}); ipfence reads only files of the checkout it runs in (run it from a folder that holds the file) [io-read]\n`;
    const cases: [string, string][] = [
      ['/dev/zero', outside('/dev/zero')],
      [join(dir, 'policy.yaml'), `${join(dir, 'policy.yaml')}:1:1: error: cannot read the policy: it is a symbolic link; ipfence reads no file of the checkout through a symbolic link (a committed link can point anywhere); commit the file itself [io-read]\n`],
    ];
    for (const [path, said] of cases) {
      const { io: i, out } = io();
      expect(await main(['check', path, '-f', 'gcc'], i)).toBe(2);
      expect(out.stdout).toBe(said);
    }
    process.env.IPFENCE_TEST_SECRET = 'hunter2-do-not-print';
    try {
      const { io: i, out } = io();
      expect(await main(['check', '/proc/self/environ', '-f', 'gcc'], i)).toBe(2);
      expect(out.stdout).toBe(outside('/proc/self/environ'));
      expect(out.stdout + out.stderr).not.toContain('hunter2');
    } finally {
      delete process.env.IPFENCE_TEST_SECRET;
    }
  });

  it('refuses a policy over --max-bytes (default 32 MiB), from a file or standard input, before reading it', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'big.yaml'), `version: 1\n${'#'.repeat(2000)}\n`);
    const file = io();
    expect(await main(['check', join(dir, 'big.yaml'), '--max-bytes', '1000', '-f', 'gcc'], file.io)).toBe(2);
    expect(file.out.stdout).toContain('cannot read the policy: it is 2,012 bytes, over the limit of 1,000 (no policy is near it; --max-bytes N raises it) [io-read]');
    expect(await main(['check', join(dir, 'big.yaml'), '--max-bytes', '3000'], io().io)).toBe(0);
    const piped = memoryIO(Buffer.alloc(DEFAULT_MAX_BYTES + 1, 0x20));
    expect(await main(['check', '-', '-f', 'gcc'], piped.io)).toBe(2);
    expect(piped.out.stdout).toContain('over the limit of 33,554,432');
    expect(await main(['check', '-', '--max-bytes', 'lots'], io().io)).toBe(2);
  });

  it('shows control characters from the policy escaped in every format (ESC, CR, BEL cannot erase or fake a line)', async () => {
    const policy = 'version: 1\n"bad\\e[2K\\rerror: all clear\\akey": 1\n';
    for (const format of ['stylish', 'gcc', 'github', 'json', 'sarif']) {
      const { io: i, out } = io(policy);
      expect(await main(['check', '-', '-f', format], i)).toBe(1);
      expect(out.stdout, format).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
      expect(out.stdout, format).toContain(format === 'json' || format === 'sarif' ? 'bad\\\\x1b[2K\\\\x0derror: all clear\\\\x07key' : 'bad\\x1b[2K\\x0derror: all clear\\x07key');
    }
  });
});
