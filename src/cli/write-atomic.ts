import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface OutFile {
  readonly file: string;
  readonly content: string;
  readonly executable: boolean;
}

/**
 * All files or none: each is written to a temp file beside its target, and only when every temp
 * file is complete are they renamed into place. A failure removes the temp files and leaves the
 * previous outputs untouched.
 */
export async function writeAllAtomic(dir: string, files: readonly OutFile[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const suffix = `.ipfence-${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  const temps = files.map((f) => ({ ...f, target: join(dir, f.file), temp: join(dir, f.file + suffix) }));
  try {
    for (const t of temps) {
      await writeFile(t.temp, t.content, { encoding: 'utf8', flag: 'wx', mode: t.executable ? 0o755 : 0o644 });
      if (t.executable) await chmod(t.temp, 0o755);
    }
    for (const t of temps) await rename(t.temp, t.target);
  } catch (e) {
    await Promise.all(temps.map((t) => rm(t.temp, { force: true })));
    throw e;
  }
}
