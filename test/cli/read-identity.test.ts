import { linkSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { checkoutTmp, memoryIO } from '../helpers/io.js';

/** A checkout of files; ipfence runs in it. */
function checkout(files: Record<string, string>): string {
  const dir = checkoutTmp('ipfence-identity-');
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  return dir;
}
async function run(dir: string, ...argv: string[]) {
  const { io, out } = memoryIO('', { cwd: dir });
  const code = await main([...argv, '-f', 'gcc'], io);
  return { code, said: out.stdout + out.stderr };
}
const SHARED = 'inbound:\n  - { name: web, port: 80 }\n';

describe('a malformed root section is the same error with includes as without', () => {
  it.each([
    ['inbound as a mapping', 'inbound:\n  ssh: { port: 22, action: deny }\n', 'p.yaml:4:3:'],
    ['defaults: drop', 'defaults: drop\n', 'p.yaml:3:11:'],
    ['version: 2', '', 'p.yaml:1:10:'],
  ])('%s', async (_name, section, place) => {
    const body = (include: string) => `${_name === 'version: 2' ? 'version: 2' : 'version: 1'}\n${include}${section}`;
    const alone = checkout({ 'p.yaml': body('# no include\n') });
    const without = await run(alone, 'check', 'p.yaml');
    expect(without.code).toBe(1);
    // The include adds a valid section of the same name (and a version of its own).
    const dir = checkout({ 'p.yaml': body('include: shared.yaml\n'), 'shared.yaml': `version: 1\n${SHARED}defaults: { input: drop }\n` });
    const withInclude = await run(dir, 'check', 'p.yaml');
    expect(withInclude.code, withInclude.said).toBe(1);
    const first = without.said.split('\n').find((l) => l.includes(': error: '))!;
    expect(first.startsWith(place), first).toBe(true);
    expect(withInclude.said).toContain(first.split(' [')[0]);
  });

  it('a policy without version is refused even when an include has one; an include with version 2 is refused', async () => {
    const dir = checkout({ 'p.yaml': 'include: shared.yaml\n', 'shared.yaml': `version: 1\n${SHARED}`, 'q.yaml': 'version: 1\ninclude: two.yaml\n', 'two.yaml': `version: 2\n${SHARED}` });
    expect((await run(dir, 'check', 'p.yaml')).said).toContain('version');
    expect((await run(dir, 'check', 'p.yaml')).code).toBe(1);
    const two = await run(dir, 'check', 'q.yaml');
    expect(two.code).toBe(1);
    expect(two.said).toContain("two.yaml:1:10: error: an included file's `version` must be 1 (or left out), not 2");
  });
});

describe('one file, one identity', () => {
  it('a policy given by absolute path reads its includes', async () => {
    const dir = checkout({ 'hosts/p.yaml': 'version: 1\ninclude: ../shared.yaml\n', 'shared.yaml': SHARED });
    for (const p of [join(dir, 'hosts/p.yaml'), './hosts/p.yaml', 'hosts/../hosts/p.yaml']) {
      const r = await run(dir, 'compile', p, '-o', join(dir, 'out'));
      expect(r.code, `${p}: ${r.said}`).toBe(0);
    }
  });

  it('an inventory given by absolute path reads its hosts\' policies and its groups\' includes', async () => {
    const dir = checkout({ 'fw/p.yaml': 'version: 1\n', 'fw/shared.yaml': SHARED, 'fw/hosts.yaml': 'version: 1\ngroups:\n  g: { include: shared.yaml }\nhosts:\n  a1: { policy: p.yaml, groups: [g] }\n' });
    for (const p of [join(dir, 'fw/hosts.yaml'), './fw/hosts.yaml']) {
      const r = await run(dir, 'check', '--inventory', p);
      expect(r.code, `${p}: ${r.said}`).toBe(0);
    }
  });

  it('an absolute path through a link above the checkout is inside it; a link inside it is still refused', async () => {
    const dir = checkout({ 'p.yaml': 'version: 1\ninclude: shared.yaml\n', 'shared.yaml': SHARED });
    const above = join(mkdtempSync(join(tmpdir(), 'ipfence-above-')), 'repo');
    symlinkSync(dir, above);
    symlinkSync('.', join(dir, 'self'));
    const r = await run(dir, 'check', join(above, 'p.yaml'));
    expect(r.code, r.said).toBe(0);
    const inside = await run(dir, 'check', join(above, 'self', 'p.yaml'));
    expect(inside.code, inside.said).toBe(2);
    expect(inside.said).toContain('self on its way is a symbolic link');
  });

  it('a quoted "include" key is read', async () => {
    for (const key of ['"include"', "'include'", '"\\u0069nclude"']) {
      const dir = checkout({ 'p.yaml': `version: 1\n${key}: shared.yaml\n`, 'shared.yaml': SHARED });
      const r = await run(dir, 'check', 'p.yaml');
      expect(r.code, `${key}: ${r.said}`).toBe(0);
    }
  });

  it('a policy including itself under another spelling is a loop, not read twice', async () => {
    const dir = checkout({ 'p.yaml': 'version: 1\ninclude: shared/a.yaml\ninbound:\n  - { name: own, port: 22 }\n', 'shared/a.yaml': 'include: ../p.yaml\n' });
    const r = await run(dir, 'check', './p.yaml');
    expect(r.code, r.said).toBe(1);
    expect(r.said).toContain("shared/a.yaml:1:10: error: including '../p.yaml' makes a loop: ./p.yaml -> shared/a.yaml -> p.yaml");
  });

  it('a hard link to an included file is the same file, included once', async () => {
    const dir = checkout({ 'p.yaml': 'version: 1\ninclude: [a.yaml, b.yaml]\n', 'a.yaml': 'inbound:\n  - { name: once, port: 22 }\n' });
    linkSync(join(dir, 'a.yaml'), join(dir, 'b.yaml'));
    const r = await run(dir, 'compile', 'p.yaml', '-o', join(dir, 'out'));
    expect(r.code, r.said).toBe(0);
    expect(readFileSync(join(dir, 'out', 'rules.v4'), 'utf8').match(/-A IPFENCE-INPUT .*--comment "once"/g)?.length).toBe(1);
  });

  it('an inventory host whose policy is missing exits 2, naming it', async () => {
    const dir = checkout({ 'hosts.yaml': 'version: 1\nhosts:\n  web1: { policy: missing.yaml }\n' });
    for (const cmd of ['check', 'compile', 'test']) {
      const r = await run(dir, cmd, '--inventory', 'hosts.yaml', ...(cmd === 'compile' ? ['-o', join(dir, 'out')] : []));
      expect(r.code, r.said).toBe(2);
      expect(r.said).toContain('missing.yaml:1:1: error: cannot read the policy: no such file');
    }
  });

  it('check and test take one file named several ways once', async () => {
    const dir = checkout({ 'p.yaml': 'version: 1\ninbound:\n  - { port: 70000 }\ntests:\n  - { name: t, port: 22, expect: drop }\n' });
    linkSync(join(dir, 'p.yaml'), join(dir, 'hard.yaml'));
    const check = await run(dir, 'check', 'p.yaml', './p.yaml', join(dir, 'p.yaml'), 'hard.yaml');
    expect(check.code).toBe(1);
    expect(check.said.match(/must be between 1 and 65535/g)?.length, check.said).toBe(1);
    const test = await run(dir, 'test', 'p.yaml', './p.yaml', 'hard.yaml');
    expect(test.said.match(/must be between 1 and 65535/g)?.length, test.said).toBe(1);
  });

  it("an inventory's hosts sharing a policy and an include read each file once", async () => {
    const dir = checkout({ 'p.yaml': 'version: 1\n', 'shared.yaml': SHARED, 'hosts.yaml': 'version: 1\ngroups:\n  g: { include: shared.yaml }\nhosts:\n  a1: { policy: p.yaml, groups: [g] }\n  b2: { policy: ./p.yaml, groups: [g] }\n' });
    const reads: string[] = [];
    const { io } = memoryIO('', { cwd: dir });
    const counting = { ...io, readFile: (p: string, l: { maxBytes: number }) => (reads.push(p), io.readFile(p, l)) };
    expect(await main(['check', '--inventory', 'hosts.yaml'], counting)).toBe(0);
    expect(reads.sort()).toEqual(['hosts.yaml', 'p.yaml', 'shared.yaml']);
  });
});
