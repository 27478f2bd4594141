import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { commitAll, prepareAtomic, writeAllAtomic } from '../../src/cli/write-atomic.js';
import { checkoutTmp, memoryIO } from '../helpers/io.js';

const POLICY = 'version: 1\ninbound:\n  - { name: ssh, port: 22 }\n';
const INVENTORY = 'version: 1\nhosts:\n  a1: { policy: p.yaml }\n  b2: { policy: p.yaml }\n';

function checkout(): string {
  const dir = checkoutTmp('ipfence-inv-write-');
  writeFileSync(join(dir, 'p.yaml'), POLICY);
  writeFileSync(join(dir, 'hosts.yaml'), INVENTORY);
  return dir;
}
async function compile(dir: string, out: string) {
  const { io, out: said } = memoryIO('', { cwd: dir });
  const code = await main(['compile', '--inventory', 'hosts.yaml', '-o', out, '-f', 'gcc'], io);
  return { code, said: said.stdout + said.stderr };
}

describe('compile --inventory writes every host or none', () => {
  it("leaves no earlier host's new files when a later host's write fails", async () => {
    const dir = checkout();
    const out = join(dir, 'out');
    // b2's rules.v4 cannot be replaced (a folder of that name): found after a1 is prepared.
    mkdirSync(join(out, 'b2', 'rules.v4'), { recursive: true });
    const r = await compile(dir, out);
    expect(r.code, r.said).toBe(2);
    expect(existsSync(join(out, 'a1', 'rules.v4'))).toBe(false);
    expect(readdirSync(join(out, 'a1')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('never writes through a symbolic link at OUT/<host> or OUT', async () => {
    const dir = checkout();
    const elsewhere = checkoutTmp('ipfence-elsewhere-');
    mkdirSync(join(dir, 'out'));
    symlinkSync(elsewhere, join(dir, 'out', 'b2'));
    const host = await compile(dir, join(dir, 'out'));
    expect(host.code).toBe(2);
    expect(host.said).toContain(`${join(dir, 'out', 'b2')} is a symbolic link; ipfence never writes through a link`);
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(existsSync(join(dir, 'out', 'a1', 'rules.v4'))).toBe(false);
    symlinkSync(elsewhere, join(dir, 'linked-out'));
    const whole = await compile(dir, join(dir, 'linked-out'));
    expect(whole.code).toBe(2);
    expect(readdirSync(elsewhere)).toEqual([]);
    // A link above the folder, inside the working directory (build -> elsewhere, -o build/out).
    const above = await compile(dir, join(dir, 'linked-out', 'out'));
    expect(above.code).toBe(2);
    expect(above.said).toContain('on the way to');
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('puts every folder back as it was when a rename fails half way', async () => {
    const base = checkoutTmp('ipfence-commit-');
    const [a, b] = [join(base, 'a'), join(base, 'b')];
    const file = (name: string, content: string) => ({ file: name, content, executable: false });
    await writeAllAtomic(a, [file('rules.v4', 'old a\n')]);
    await writeAllAtomic(b, [file('rules.v4', 'old b\n')]);
    const pa = await prepareAtomic(a, [file('rules.v4', 'new a\n'), file('apply.sh', 'new\n')]);
    const pb = await prepareAtomic(b, [file('rules.v4', 'new b\n')]);
    // b's temp file is gone when its turn comes: a is already in place by then.
    for (const f of readdirSync(b)) if (f.endsWith('.tmp')) rmSync(join(b, f));
    await expect(commitAll(base, [pa, pb])).rejects.toThrow();
    expect(readFileSync(join(a, 'rules.v4'), 'utf8')).toBe('old a\n');
    expect(readFileSync(join(b, 'rules.v4'), 'utf8')).toBe('old b\n');
    // No new file, temp file, backup or lock is left.
    expect(readdirSync(a)).toEqual(['rules.v4']);
    expect(readdirSync(b)).toEqual(['rules.v4']);
  });
});
