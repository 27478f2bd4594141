import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../helpers/io.js';

/**
 * The one reader of the checkout (src/cli/read.ts), attacked from every command and every path a
 * command reads: whatever a pull request commits in place of a file, ipfence refuses it by name,
 * exits 2, and prints nothing of what it points at, in any format.
 */

const SECRET = 'SECRET-TOKEN-c2VjcmV0LXRva2Vu';
const GOOD = 'version: 1\ninbound:\n  - { name: ssh, port: 22 }\ntests:\n  - { name: ssh open, port: 22, expect: allow }\n';
// What a YAML error would quote if the file were read: a line that is not YAML, the secret in it.
const SECRET_TEXT = `[http "https://github.com/"]\n\textraheader = AUTHORIZATION: basic ${SECRET}\ninbound: { ${SECRET}: [ }\n`;

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A checkout (with .git/config holding an auth header) and a folder outside it holding the same secret. */
function checkout(): { repo: string; outside: string } {
  const top = mkdtempSync(join(tmpdir(), 'ipfence-read-'));
  made.push(top);
  const repo = join(top, 'repo');
  const outside = join(top, 'outside');
  for (const d of [join(repo, '.git'), join(repo, 'policies'), outside]) mkdirSync(d, { recursive: true });
  writeFileSync(join(repo, '.git', 'config'), SECRET_TEXT);
  for (const name of ['secret.yaml', 'web.yaml', 'x.yaml', 'rules.v4']) writeFileSync(join(outside, name), SECRET_TEXT);
  writeFileSync(join(repo, 'good.yaml'), GOOD);
  return { repo, outside };
}

/** Puts an attack at `path` (relative to the checkout); returns the path to name it by and the name a refusal must give. */
type Attack = (repo: string, outside: string, path: string) => { path: string; named: string };
const at = (repo: string, path: string) => {
  mkdirSync(dirname(join(repo, path)), { recursive: true });
  return join(repo, path);
};
const ATTACKS: Record<string, Attack> = {
  'a link to a file of the checkout (.git/config)': (repo, _o, path) => {
    symlinkSync(join('/', ...Array(8).fill('..'), repo, '.git', 'config').replace(/^\/(\.\.\/)+/, '/'), at(repo, path));
    return { path, named: path };
  },
  'a relative link out of the checkout': (repo, outside, path) => {
    const p = at(repo, path);
    symlinkSync(join('..', ...Array(path.split('/').length - 1).fill('..'), 'outside', 'secret.yaml'), p);
    void outside;
    return { path, named: path };
  },
  'a link at a folder component': (repo, outside, path) => {
    // The folder holding the file is a link out of the checkout, to a folder with a file of that name.
    const folder = dirname(path) === '.' ? 'linked' : `${dirname(path)}/linked`;
    const base = path.split('/').pop()!;
    mkdirSync(dirname(join(repo, folder)), { recursive: true });
    symlinkSync(outside, join(repo, folder));
    writeFileSync(join(outside, base), SECRET_TEXT);
    return { path: `${folder}/${base}`, named: 'linked' };
  },
  'a FIFO': (repo, _o, path) => {
    execFileSync('mkfifo', [at(repo, path)]);
    return { path, named: path };
  },
  'a link to /dev/zero': (repo, _o, path) => {
    symlinkSync('/dev/zero', at(repo, path));
    return { path, named: path };
  },
  'a folder': (repo, _o, path) => {
    mkdirSync(join(at(repo, path), 'x.yaml'), { recursive: true });
    return { path, named: path };
  },
};

const DIAGNOSTICS = ['stylish', 'gcc', 'json', 'github', 'sarif'];

/** A command reading one path: the argv for the attacked path `p`, and the formats it prints. */
interface ReadPath {
  readonly where: string;
  /** The file the attack replaces, relative to the checkout. */
  readonly file: string;
  /** Files to write first (relative path -> text), given the attacked path. */
  readonly setup?: (p: string) => Record<string, string>;
  readonly argv: (p: string, out: string) => string[];
  readonly formats: readonly string[];
}

const POLICY_COMMANDS: [string, (p: string, out: string) => string[], readonly string[]][] = [
  ['compile', (p, out) => ['compile', p, '-o', out], DIAGNOSTICS],
  ['check', (p) => ['check', p], DIAGNOSTICS],
  ['test', (p) => ['test', p], DIAGNOSTICS],
  ['explain', (p) => ['explain', p, 'tcp 192.0.2.1 -> 192.0.2.2:22 in eth0'], ['stylish', 'json']],
  ['show', (p) => ['show', p], ['stylish', 'markdown', 'json']],
  ['diff (OLD)', (p) => ['diff', p, 'good.yaml'], ['stylish', 'markdown', 'json', 'github']],
  ['diff (NEW)', (p) => ['diff', 'good.yaml', p], ['stylish', 'markdown', 'json', 'github']],
  ['verify', (p) => ['verify', p], DIAGNOSTICS],
];

const READ_PATHS: ReadPath[] = [
  ...POLICY_COMMANDS.map(([cmd, argv, formats]) => ({ where: `${cmd}: the policy argument`, file: 'policies/web.yaml', argv, formats })),
  ...POLICY_COMMANDS.map(([cmd, argv, formats]) => ({
    where: `${cmd}: an include`,
    file: 'shared/base.yaml',
    setup: (p: string) => ({ 'host.yaml': `version: 1\ninclude: ${p}\n` }),
    argv: (_p: string, out: string) => argv('host.yaml', out),
    formats,
  })),
  ...(['compile', 'check', 'test'] as const).flatMap((cmd): ReadPath[] => {
    const extra = (out: string) => (cmd === 'compile' ? ['-o', out] : []);
    return [
      { where: `${cmd} --inventory: the inventory file`, file: 'hosts.yaml', argv: (p, out) => [cmd, '--inventory', p, ...extra(out)], formats: DIAGNOSTICS },
      { where: `${cmd} --inventory: a host's policy`, file: 'policies/web.yaml', setup: (p) => ({ 'hosts.yaml': `version: 1\nhosts:\n  web1: { policy: ${p} }\n` }), argv: (_p, out) => [cmd, '--inventory', 'hosts.yaml', ...extra(out)], formats: DIAGNOSTICS },
      { where: `${cmd} --inventory: a group's include`, file: 'shared/base.yaml', setup: (p) => ({ 'hosts.yaml': `version: 1\ngroups:\n  g: { include: ${p} }\nhosts:\n  web1: { policy: good.yaml, groups: [g] }\n` }), argv: (_p, out) => [cmd, '--inventory', 'hosts.yaml', ...extra(out)], formats: DIAGNOSTICS },
    ];
  }),
  { where: "check's own glob", file: 'policies/web.yaml', argv: () => ['check', 'policies/**/*.yaml'], formats: DIAGNOSTICS },
  { where: "test's own glob", file: 'policies/web.yaml', argv: () => ['test', 'policies/**/*.yaml'], formats: DIAGNOSTICS },
  { where: 'check --against: a committed output', file: 'committed/rules.v4', argv: (p) => ['check', 'good.yaml', '--against', dirname(p)], formats: DIAGNOSTICS },
];

describe('every read path of every command refuses what is not a regular file of the checkout', () => {
  for (const rp of READ_PATHS) {
    it.each(Object.keys(ATTACKS))(`${rp.where}: %s`, async (attack) => {
      for (const format of rp.formats) {
        const { repo, outside } = checkout();
        const { path, named } = ATTACKS[attack]!(repo, outside, rp.file);
        for (const [f, text] of Object.entries(rp.setup?.(path) ?? {})) writeFileSync(at(repo, f), text);
        const { io, out } = memoryIO('', { cwd: repo, kernelLab: () => ({ ok: true, backends: [] }) });
        const code = await main([...rp.argv(path, join(outside, 'out')), '-f', format], io);
        const said = out.stdout + out.stderr;
        expect(said, `${format}: ${said}`).not.toContain(SECRET);
        expect(code, `${format}: ${said}`).toBe(2);
        // A glob matches regular files: a FIFO or a folder is not matched (nor read) at all.
        if (rp.where.includes('glob') && (attack === 'a FIFO' || attack === 'a folder')) expect(said, format).toContain("no file matches 'policies/**/*.yaml'");
        else {
          expect(said, format).toContain(named);
          expect(said, format).toMatch(/symbolic link|a folder|not a regular file|named pipe|outside the directory/);
        }
      }
    });
  }
});

describe('a path given on the command line outside the checkout', () => {
  it.each([
    ['check', (p: string) => ['check', p]],
    ['diff', (p: string) => ['diff', 'good.yaml', p]],
    ['compile --inventory', (p: string) => ['check', '--inventory', p]],
  ] as const)('%s refuses an absolute path outside it, and /dev/zero', async (_name, argv) => {
    const { repo, outside } = checkout();
    for (const p of [join(outside, 'secret.yaml'), '/dev/zero', join(repo, '..', 'outside', 'secret.yaml')]) {
      for (const format of ['stylish', 'json']) {
        const { io, out } = memoryIO('', { cwd: repo });
        expect(await main([...argv(p), '-f', format], io)).toBe(2);
        expect(out.stdout + out.stderr).not.toContain(SECRET);
        expect(out.stdout + out.stderr).toContain('outside the directory ipfence runs in');
      }
    }
  });
});

describe("a glob's walk stays in the checkout", () => {
  it.each(['../**/*.yaml', '../outside/*.yaml'])('%s is refused before anything is listed or read', async (glob) => {
    const { repo } = checkout();
    for (const format of ['stylish', 'json']) {
      const { io, out } = memoryIO('', { cwd: repo });
      expect(await main(['check', glob, '-f', format], io)).toBe(2);
      expect(out.stdout + out.stderr).not.toContain(SECRET);
      expect(out.stderr).toContain(`'${glob}' looks outside the directory ipfence runs in`);
    }
  });
});
