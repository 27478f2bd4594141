import { randomBytes } from 'node:crypto';
import { chmod, link, lstat, mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

export interface OutFile {
  readonly file: string;
  readonly content: string;
  /** The content in pieces (a large file's): written through a buffer, never converted whole. */
  readonly chunks?: readonly string[];
  readonly executable: boolean;
}

/** UTF-8 takes at most 3 bytes per UTF-16 unit. */
const MAX_BYTES_PER_UNIT = 3;

/**
 * Writes pieces through one reused buffer: a 10 MB file costs neither a 10 MB string nor a 10 MB
 * UTF-8 copy of it (each would stay in memory until a garbage collection, raising peak RSS).
 */
async function writeChunks(fh: FileHandle, chunks: readonly string[], bufferBytes = 1 << 20): Promise<void> {
  const buf = Buffer.allocUnsafe(bufferBytes);
  let used = 0;
  const writeAll = async (b: Buffer, length: number): Promise<void> => {
    for (let off = 0; off < length; ) off += (await fh.write(b, off, length - off)).bytesWritten;
  };
  for (const c of chunks) {
    if (used + c.length * MAX_BYTES_PER_UNIT > buf.length) {
      await writeAll(buf, used);
      used = 0;
    }
    if (c.length * MAX_BYTES_PER_UNIT > buf.length) {
      const b = Buffer.from(c, 'utf8');
      await writeAll(b, b.length);
    } else used += buf.write(c, used, 'utf8');
  }
  await writeAll(buf, used);
}

/** The temp files of a compile (`rules.v4.ipfence-PID-RANDOM.tmp`): any found while holding the lock is a killed compile's. */
const TEMP = /\.ipfence-\d+-[0-9a-f]+\.tmp(\.old)?$/;
const LOCK = '.ipfence.lock';

/** A failure of the folder itself (refused before anything is written), with what to do. */
export class FolderError extends Error {}

/**
 * The folder holds a script that root runs: another user who can write to it could replace that
 * script (a sticky folder like /tmp still lets them create the names first).
 */
async function refuseOpenFolder(dir: string): Promise<void> {
  const st = await stat(dir);
  if (!st.isDirectory()) throw new FolderError(`${dir} is not a folder`);
  const mode = (st.mode & 0o7777).toString(8);
  if ((st.mode & 0o002) !== 0) throw new FolderError(`${dir} is writable by every user (mode ${mode}), and apply.sh in it runs as root; use a folder only you can write to (chmod o-w ${dir})`);
  // A group's members, or the folder's owner, could swap apply.sh or a rules file (keeping its header).
  if ((st.mode & 0o020) !== 0) throw new FolderError(`${dir} is writable by its group (mode ${mode}), and apply.sh in it runs as root; use a folder only you can write to (chmod g-w ${dir})`);
  const me = process.getuid?.();
  if (me !== undefined && st.uid !== me && st.uid !== 0) throw new FolderError(`${dir} belongs to uid ${st.uid}, not to you (uid ${me}) or root, and apply.sh in it runs as root; use a folder of your own`);
}

/** One compile at a time per folder: two would interleave their files. A lock whose process is gone is taken over. */
async function lockFolder(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      return () => rm(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) throw new FolderError(`another ipfence compile (pid ${pid}) is writing ${dir}; wait for it, or remove ${path} if no compile runs`);
      await rm(path, { force: true });
    }
  }
  throw new FolderError(`cannot lock ${dir} (${path} keeps coming back)`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Each target can be replaced by a rename: it is absent or not a folder, and in a sticky folder it is ours. */
async function checkTargets(dir: string, files: readonly OutFile[]): Promise<void> {
  const sticky = ((await stat(dir)).mode & 0o1000) !== 0;
  for (const f of files) {
    const target = join(dir, f.file);
    const st = await lstat(target).catch(() => null);
    if (st === null) continue;
    if (st.isDirectory()) throw new FolderError(`${target} is a folder; ipfence writes a file of that name there (remove or rename the folder)`);
    if (sticky && st.uid !== process.getuid?.()) throw new FolderError(`${target} belongs to another user in a sticky folder, so it cannot be replaced`);
  }
}

/**
 * A symbolic link where a folder is written could point anywhere (a committed `out/web1 -> /etc`,
 * or `build -> /root` above `build/web1`): inside the working directory no component of the
 * folder may be a link; a folder outside it (`/etc/ipfence`, the operator's choice) may not be
 * one itself.
 */
export async function refuseLinkedFolder(dir: string): Promise<void> {
  const cwd = process.cwd();
  const abs = resolve(cwd, dir);
  const rel = relative(cwd, abs);
  const inside = rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
  const parts = inside ? rel.split(sep) : [];
  const paths = inside ? parts.map((_, i) => join(cwd, ...parts.slice(0, i + 1))) : [abs];
  for (const p of paths) {
    const st = await lstat(p).catch(() => null);
    if (st?.isSymbolicLink()) throw new FolderError(`${p === abs ? dir : `${relative(cwd, p)}, on the way to ${dir},`} is a symbolic link; ipfence never writes through a link (it could point anywhere); remove it, or give the folder it points to`);
  }
}

/**
 * Files written to temp files beside their targets, not yet in place. `place` renames them into
 * place, keeping each replaced file as a hard-linked backup; then `finish` drops the backups (and
 * unlocks), or `rollback` puts every replaced file back and removes the new ones. `abort` (before
 * `place`) removes the temp files. Several folders are one unit with commitAll.
 */
export interface Prepared {
  readonly place: () => Promise<void>;
  readonly finish: () => Promise<string[]>;
  readonly rollback: () => Promise<void>;
  readonly abort: () => Promise<void>;
}

/**
 * Puts the files of several prepared folders in place as one unit: when any rename fails, every
 * folder placed so far (and the one that failed) is put back as it was, and the rest aborted.
 */
export async function commitAll(prepared: readonly Prepared[]): Promise<string[][]> {
  const placed: Prepared[] = [];
  try {
    for (const p of prepared) {
      placed.push(p);
      await p.place();
    }
  } catch (e) {
    for (const p of placed.reverse()) await p.rollback();
    await Promise.all(prepared.slice(placed.length).map((p) => p.abort()));
    throw e;
  }
  const removed: string[][] = [];
  for (const p of prepared) removed.push(await p.finish());
  return removed;
}

/**
 * The first half of an all-or-nothing write: the folder is locked, a killed compile's temp files
 * are removed, every target is checked, and each file is written to a temp file beside its
 * target. Nothing the folder held is changed yet. A failure removes the temp files, unlocks and
 * throws. An inventory prepares every host before committing any (src/cli/compile.ts).
 */
export async function prepareAtomic(dir: string, files: readonly OutFile[], optional: readonly string[] = []): Promise<Prepared> {
  await refuseLinkedFolder(dir);
  // An explicit mode: under umask 000 a new folder would be writable by everyone.
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await refuseLinkedFolder(dir);
  await refuseOpenFolder(dir);
  const release = await lockFolder(dir);
  const suffix = `.ipfence-${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  const temps = files.map((f) => ({ ...f, target: join(dir, f.file), temp: join(dir, f.file + suffix) }));
  const abort = async (): Promise<void> => {
    await Promise.all(temps.map((t) => rm(t.temp, { force: true })));
    await release();
  };
  try {
    for (const name of await readdir(dir)) if (TEMP.test(name)) await rm(join(dir, name), { force: true });
    await checkTargets(dir, files);
    for (const t of temps) {
      const mode = t.executable ? 0o755 : 0o644;
      if (t.chunks) {
        const fh = await open(t.temp, 'wx', mode);
        try {
          await writeChunks(fh, t.chunks);
        } finally {
          await fh.close();
        }
      } else await writeFile(t.temp, t.content, { encoding: 'utf8', flag: 'wx', mode });
      // The mode again: open() applies the umask, which may take bits away or (000) none.
      await chmod(t.temp, mode);
    }
  } catch (e) {
    await abort();
    throw e;
  }
  // Each target as it was: backed up (a hard link, so the rename below leaves it whole), or absent.
  const replaced: { target: string; backup?: string }[] = [];
  const place = async (): Promise<void> => {
    // The folder is still the one checked (not swapped for a link while the files were written).
    await refuseLinkedFolder(dir);
    for (const t of temps) {
      const backup = `${t.target}${suffix}.old`;
      const had = await link(t.target, backup).then(
        () => true,
        (e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') return false;
          throw e;
        },
      );
      replaced.push({ target: t.target, ...(had ? { backup } : {}) });
      await rename(t.temp, t.target);
    }
  };
  const finish = async (): Promise<string[]> => {
    try {
      await Promise.all(replaced.map((r) => (r.backup ? rm(r.backup, { force: true }) : undefined)));
      return await removeStale(dir, optional, files.map((f) => f.file));
    } finally {
      await release();
    }
  };
  const rollback = async (): Promise<void> => {
    try {
      for (const r of replaced.reverse()) {
        if (r.backup) {
          await rename(r.backup, r.target);
          // When the target was never replaced, both names are one file and rename leaves both.
          await rm(r.backup, { force: true });
        } else await rm(r.target, { force: true });
      }
    } finally {
      await abort();
    }
  };
  return { place, finish, rollback, abort };
}

/**
 * All files or none, from one compile: prepareAtomic, then only when every temp file is complete
 * are they renamed into place. A failure removes the temp files and leaves the previous outputs
 * untouched. Returns the files of `optional` that this compile no longer produces and that were
 * removed (see removeStale).
 */
export async function writeAllAtomic(dir: string, files: readonly OutFile[], optional: readonly string[] = []): Promise<string[]> {
  return (await commitAll([await prepareAtomic(dir, files, optional)]))[0]!;
}

/** ipfence's own header (after a shebang line in scripts): only such files are ever removed. */
export const GENERATED = /^(#!.*\n)?# Generated by ipfence /;

/**
 * Removes outputs an earlier compile wrote that this one no longer produces (ipsets after the long
 * lists are gone), so the folder never holds a file that disagrees with the policy. Only files
 * carrying ipfence's own header are touched.
 */
async function removeStale(dir: string, candidates: readonly string[], produced: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const name of candidates.filter((c) => !produced.includes(c))) {
    const path = join(dir, name);
    const text = await readFile(path, 'utf8').catch(() => '');
    if (GENERATED.test(text)) {
      await rm(path, { force: true });
      removed.push(name);
    }
  }
  return removed;
}
