import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { writeAllAtomic } from '../../src/cli/write-atomic.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ipfence-write-'));

describe('writeAllAtomic with chunks', () => {
  it('writes exactly the concatenation of the chunks, across buffer flushes and chunks larger than the buffer', async () => {
    // Whole code points only (chunks are whole lines): ASCII, 2-, 3- and 4-byte UTF-8.
    const piece = fc.oneof(
      fc.constantFrom('-A INPUT -p tcp\n', 'é', '€', '😀', '\n'),
      fc.integer({ min: 1, max: 1_200_000 }).map((n) => 'x'.repeat(n)),
      fc.integer({ min: 1, max: 500_000 }).map((n) => '€'.repeat(n)),
    );
    let large = 0;
    let huge = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { minLength: 0, maxLength: 12 }), async (chunks) => {
        const dir = tmp();
        const content = chunks.join('');
        if (Buffer.byteLength(content) > 1 << 20) large++;
        if (chunks.some((c) => Buffer.byteLength(c) > 1 << 20)) huge++;
        await writeAllAtomic(dir, [{ file: 'rules.v4', content, chunks, executable: false }]);
        expect(readFileSync(join(dir, 'rules.v4'), 'utf8') === content).toBe(true);
        expect(readdirSync(dir)).toEqual(['rules.v4']);
        expect(statSync(join(dir, 'rules.v4')).mode & 0o777).toBe(0o644);
      }),
      { numRuns: 30 },
    );
    expect(large).toBeGreaterThan(5);
    expect(huge).toBeGreaterThan(5);
  });
});

describe('writeAllAtomic: one compile at a time, all files or none', () => {
  const file = (name: string, content = `${name}\n`) => ({ file: name, content, executable: false });

  it('refuses a folder another running compile holds, and takes over the lock of one that is gone', async () => {
    const dir = tmp();
    writeFileSync(join(dir, '.ipfence.lock'), `${process.pid}\n`);
    await expect(writeAllAtomic(dir, [file('rules.v4')])).rejects.toThrow(`another ipfence compile (pid ${process.pid}) is writing ${dir}`);
    expect(existsSync(join(dir, 'rules.v4'))).toBe(false);
    // A pid that no process has (above the kernel's pid_max).
    writeFileSync(join(dir, '.ipfence.lock'), '99999999\n');
    await writeAllAtomic(dir, [file('rules.v4')]);
    expect(readdirSync(dir)).toEqual(['rules.v4']);
  });

  it("removes a killed compile's temp files", async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'rules.v4.ipfence-4242-0badc0de.tmp'), 'half a file');
    writeFileSync(join(dir, 'notes.tmp'), 'mine');
    await writeAllAtomic(dir, [file('rules.v4')]);
    expect(readdirSync(dir).sort()).toEqual(['notes.tmp', 'rules.v4']);
  });

  it('checks every target before the first rename: a folder in the way changes nothing', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'apply.sh'), 'old\n');
    mkdirSync(join(dir, 'rules.v6'));
    await expect(writeAllAtomic(dir, [file('apply.sh', 'new\n'), file('rules.v6')])).rejects.toThrow(`${join(dir, 'rules.v6')} is a folder`);
    expect(readFileSync(join(dir, 'apply.sh'), 'utf8')).toBe('old\n');
    expect(readdirSync(dir).sort()).toEqual(['apply.sh', 'rules.v6']);
  });

  it('refuses a folder its group can write, or that belongs to another user (they could swap apply.sh)', async () => {
    const base = mkdtempSync(join(tmpdir(), 'ipfence-owner-'));
    const group = join(base, 'group');
    mkdirSync(group);
    chmodSync(group, 0o2775);
    await expect(writeAllAtomic(group, [file('rules.v4')])).rejects.toThrow(`${group} is writable by its group (mode 2775)`);
    expect(readdirSync(group)).toEqual([]);
    if (process.getuid?.() === 0) {
      const foreign = join(base, 'foreign');
      mkdirSync(foreign);
      chownSync(foreign, 65534, 65534);
      await expect(writeAllAtomic(foreign, [file('rules.v4')])).rejects.toThrow(`${foreign} belongs to uid 65534, not to you (uid 0) or root`);
      expect(readdirSync(foreign)).toEqual([]);
    }
  });
  it('under umask 000 makes the folder 0755 and the files 0644 / 0755, and refuses a folder every user can write', async () => {
    const old = process.umask(0);
    try {
      const dir = join(tmp(), 'out');
      await writeAllAtomic(dir, [file('rules.v4'), { ...file('apply.sh'), executable: true }]);
      expect(statSync(dir).mode & 0o777).toBe(0o755);
      expect(statSync(join(dir, 'rules.v4')).mode & 0o777).toBe(0o644);
      expect(statSync(join(dir, 'apply.sh')).mode & 0o777).toBe(0o755);
      const open = tmp();
      chmodSync(open, 0o777);
      await expect(writeAllAtomic(open, [file('rules.v4')])).rejects.toThrow(`${open} is writable by every user (mode 777), and apply.sh in it runs as root`);
      expect(readdirSync(open)).toEqual([]);
    } finally {
      process.umask(old);
    }
  });
});
