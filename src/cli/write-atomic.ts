import { randomBytes } from 'node:crypto';
import { chmod, link, lstat, mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { OPTIONAL_OUTPUTS, OUTPUT_FILES } from '../emit/emit.js';
import { HOST_NAME } from './inventory.js';

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
async function refuseLinkedFolder(dir: string): Promise<void> {
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
 * A test's way to stop a write between two of its steps, as SIGKILL would: the hook's promise never
 * resolving leaves the folders exactly as a kill at that step would (no catch or finally runs).
 * Set only by tests that import this module; nothing outside the process can set it.
 */
export const faultPoints: { hook?: (step: string) => Promise<void> | undefined } = {};
const step = async (name: string): Promise<void> => {
  await faultPoints.hook?.(name);
};

/**
 * The record of a write in progress, in the root folder of the write (OUT for an inventory, the
 * folder for one policy): written before the first rename, marked `placed` after the last, removed
 * when the backups are gone. A compile killed in between leaves it, and the next compile (or
 * writeFoldersAtomic) puts every replaced file back from its backup (`placing`) or drops the backups
 * (`placed`), so a folder is never left with files of two compiles.
 */
const JOURNAL = '.ipfence-commit.json';
/** What a record may name: a folder directly in the root (a host's) or the root, files by plain name. */
const isFolderName = (d: string): boolean => d === '.' || HOST_NAME.test(d);
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$/;
const SUFFIX = /^\.ipfence-\d+-[0-9a-f]+\.tmp$/;
const JOURNAL_MAX_BYTES = 1 << 20;

interface JournalFolder {
  /** Relative to the root: `.` or one name. */
  readonly dir: string;
  readonly suffix: string;
  /** In rename order; `backup` when the file existed (and `<file><suffix>.old` holds it). */
  readonly files: readonly { readonly file: string; readonly backup: boolean }[];
  readonly optional: readonly string[];
  readonly produced: readonly string[];
}
interface Journal {
  readonly version: 1;
  readonly state: 'placing' | 'placed';
  readonly folders: readonly JournalFolder[];
}

/** Written to a temp name and renamed over: a kill leaves the old record or the new one, whole. */
async function writeJournal(root: string, journal: Journal): Promise<void> {
  const temp = join(root, `${JOURNAL}.ipfence-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  await writeFile(temp, `${JSON.stringify(journal)}\n`, { flag: 'wx', mode: 0o644 });
  await rename(temp, join(root, JOURNAL));
}

/** The record in `root`, or null; one that is not a record ipfence wrote is refused, never acted on. */
async function readJournal(root: string): Promise<Journal | null> {
  const path = join(root, JOURNAL);
  const st = await lstat(path).catch(() => null);
  if (st === null) return null;
  const refuse = (why: string) => new FolderError(`${path} ${why}; it is not a record of an interrupted ipfence compile, so nothing was done: check ${root} and delete ${path} (it is not written by this ipfence)`);
  if (!st.isFile() || st.size > JOURNAL_MAX_BYTES) throw refuse('is not a small regular file');
  let j: Journal;
  try {
    j = JSON.parse(await readFile(path, 'utf8')) as Journal;
  } catch {
    throw refuse('is not valid JSON');
  }
  const names = (v: unknown): v is string[] => Array.isArray(v) && v.every((n) => typeof n === 'string' && FILE_NAME.test(n));
  const folderOk = (f: JournalFolder): boolean =>
    typeof f === 'object' &&
    f !== null &&
    typeof f.dir === 'string' &&
    isFolderName(f.dir) &&
    typeof f.suffix === 'string' &&
    SUFFIX.test(f.suffix) &&
    Array.isArray(f.files) &&
    f.files.every((x) => typeof x === 'object' && x !== null && typeof x.file === 'string' && FILE_NAME.test(x.file) && typeof x.backup === 'boolean') &&
    names(f.optional) &&
    names(f.produced);
  if (typeof j !== 'object' || j === null || j.version !== 1 || (j.state !== 'placing' && j.state !== 'placed') || !Array.isArray(j.folders) || !j.folders.every(folderOk)) throw refuse('is not in the form ipfence writes');
  // A committed record could name any file of the checkout (the policy itself, -o defaults to
  // `.`): only the names compile writes are ever acted on, so anything else is not ipfence's.
  for (const f of j.folders as readonly JournalFolder[]) {
    const other = [...f.files.map((x) => x.file).filter((n) => !OUTPUT_FILES.includes(n)), ...[...f.optional, ...f.produced].filter((n) => !OUTPUT_FILES.includes(n) && !OPTIONAL_OUTPUTS.includes(n))];
    if (other.length > 0) throw refuse(`names ${join(f.dir, other[0]!)}, which is not a file ipfence writes (only ${OUTPUT_FILES.join(', ')})`);
  }
  return j;
}

/** The file starts with ipfence's own header; false when it cannot be read. */
async function generated(path: string): Promise<boolean> {
  const fh = await open(path, 'r').catch(() => null);
  if (fh === null) return false;
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return GENERATED.test(buf.subarray(0, bytesRead).toString('utf8'));
  } finally {
    await fh.close();
  }
}

/**
 * Before a record is acted on, every file it would remove, or restore over its target, is checked
 * to be one ipfence wrote (its header): a record that would remove or swap anything else is
 * refused with nothing changed. Returns why, or null.
 */
async function foreignFile(root: string, journal: Journal): Promise<string | null> {
  const exists = async (p: string): Promise<boolean> => (await lstat(p).catch(() => null)) !== null;
  const notOurs = async (p: string): Promise<boolean> => (await exists(p)) && !((await lstat(p)).isFile() && (await generated(p)));
  for (const f of journal.folders) {
    const dir = join(root, f.dir);
    if (!(await lstat(dir).catch(() => null))?.isDirectory()) continue;
    for (const x of f.files) {
      const target = join(dir, x.file);
      const backup = target + f.suffix + '.old';
      if (x.backup || journal.state === 'placed') {
        if (await notOurs(backup)) return `would put back or remove ${backup}, which does not start with ipfence's header`;
        if (journal.state === 'placing' && (await exists(backup)) && (await notOurs(target))) return `would replace ${target}, which does not start with ipfence's header`;
      } else if (journal.state === 'placing' && !(await exists(target + f.suffix)) && (await notOurs(target))) return `would remove ${target}, which does not start with ipfence's header`;
    }
  }
  return null;
}

/**
 * Finishes or rolls back the write a killed compile left in `root` (the caller holds root's lock).
 * Each step is safe to repeat, so a recovery killed in turn is finished by the next. Returns what
 * was done, for the user, or null when there was nothing to do.
 */
async function recoverLocked(root: string): Promise<string | null> {
  const journal = await readJournal(root);
  if (journal === null) {
    await removeJournalTemps(root);
    return null;
  }
  // Never through a link swapped in since (the record names the folder, not where it leads).
  for (const f of journal.folders) await refuseLinkedFolder(join(root, f.dir));
  const foreign = await foreignFile(root, journal);
  if (foreign !== null) throw new FolderError(`${join(root, JOURNAL)} ${foreign}; it is not a record of an interrupted ipfence compile, so nothing was done: check ${root} and delete ${join(root, JOURNAL)} (it is not written by this ipfence)`);
  for (const f of journal.folders) {
    const dir = join(root, f.dir);
    if (!(await stat(dir).catch(() => null))?.isDirectory()) continue;
    if (journal.state === 'placed') {
      for (const x of f.files) if (x.backup) await rm(join(dir, x.file + f.suffix + '.old'), { force: true });
      await removeStale(dir, f.optional, f.produced);
    } else {
      for (const x of [...f.files].reverse()) {
        const target = join(dir, x.file);
        const backup = target + f.suffix + '.old';
        if (!x.backup) {
          // Absent before: the new file goes (when it was renamed in; else there is nothing).
          if ((await lstat(target + f.suffix).catch(() => null)) === null) await rm(target, { force: true });
          continue;
        }
        // Already put back by an earlier recovery when the backup is gone.
        if ((await lstat(backup).catch(() => null)) === null) continue;
        await rename(backup, target);
        // When the target was never replaced, both names are one file and rename leaves both.
        await rm(backup, { force: true });
      }
    }
    for (const x of f.files) await rm(join(dir, x.file + f.suffix), { force: true });
  }
  await rm(join(root, JOURNAL), { force: true });
  await removeJournalTemps(root);
  return journal.state === 'placed'
    ? `${root} held a compile that was killed after its files were in place; finished it (removed its backups)`
    : `${root} held a compile that was killed while putting its files in place; put back the files it had replaced`;
}

async function removeJournalTemps(root: string): Promise<void> {
  for (const name of await readdir(root)) if (name.startsWith(`${JOURNAL}.`) && TEMP.test(name)) await rm(join(root, name), { force: true });
}

/**
 * Before anything else a compile does with `root` (even one whose policy then fails): a write a
 * killed compile left half done is finished or rolled back, so the folder holds exactly one
 * compile's files. Returns what was done, or null.
 */
export async function recoverInterrupted(root: string): Promise<string | null> {
  if ((await lstat(join(root, JOURNAL)).catch(() => null)) === null) return null;
  await refuseLinkedFolder(root);
  const release = await lockFolder(root);
  try {
    return await recoverLocked(root);
  } finally {
    await release();
  }
}

/**
 * The record of a killed compile's write that concerns `dir`: in it (a compile of one policy) or
 * in the folder above (an inventory's, for OUT/<host>). Null when there is none. Read only: for
 * `check --against`, which says so instead of comparing half-written files as if they were whole.
 */
export async function interruptedRecord(dir: string): Promise<string | null> {
  for (const p of [join(dir, JOURNAL), join(dir, '..', JOURNAL)]) if ((await lstat(p).catch(() => null)) !== null) return p;
  return null;
}

/**
 * Files written to temp files beside their targets, not yet in place. `backup` hard-links each
 * target that exists to `<target><suffix>.old`; `place` renames the temp files into place; then
 * `finish` drops the backups (and unlocks), or `rollback` puts every replaced file back and removes
 * the new ones. `abort` (before `backup`) removes the temp files. Several folders are one unit
 * with commitAll.
 */
export interface Prepared {
  readonly dir: string;
  readonly record: () => Omit<JournalFolder, 'dir'>;
  readonly backup: () => Promise<void>;
  readonly place: () => Promise<void>;
  readonly finish: () => Promise<string[]>;
  readonly rollback: () => Promise<void>;
  readonly abort: () => Promise<void>;
}

/**
 * Puts the files of several prepared folders (each `root` or a folder directly in it) in place as
 * one unit. Every backup is made, then the record is written in `root`, then the renames: a failed
 * rename puts every folder back as it was; a kill leaves the record for recoverInterrupted.
 */
export async function commitAll(root: string, prepared: readonly Prepared[]): Promise<string[][]> {
  const folders = (): JournalFolder[] => prepared.map((p) => ({ dir: relative(root, p.dir) || '.', ...p.record() }));
  let recorded = false;
  try {
    for (const p of prepared) await p.backup();
    const journal: Journal = { version: 1, state: 'placing', folders: folders() };
    if (!journal.folders.every((f) => isFolderName(f.dir))) throw new Error(`the folders written are not ${root} or folders directly in it`);
    await writeJournal(root, journal);
    recorded = true;
    await step('journal');
    for (const p of prepared) await p.place();
  } catch (e) {
    for (const p of [...prepared].reverse()) await p.rollback();
    if (recorded) await rm(join(root, JOURNAL), { force: true });
    throw e;
  }
  await writeJournal(root, { version: 1, state: 'placed', folders: folders() });
  await step('placed');
  const removed: string[][] = [];
  for (const p of prepared) removed.push(await p.finish());
  await rm(join(root, JOURNAL), { force: true });
  return removed;
}

/**
 * The first half of an all-or-nothing write: the folder is locked (unless `locked`: its caller
 * holds the lock), a killed compile's temp files are removed, every target is checked, and each
 * file is written to a temp file beside its target. Nothing the folder held is changed yet. A
 * failure removes the temp files, unlocks and throws. An inventory prepares every host before
 * committing any (src/cli/compile.ts).
 */
export async function prepareAtomic(dir: string, files: readonly OutFile[], optional: readonly string[] = [], locked = false): Promise<Prepared> {
  await refuseLinkedFolder(dir);
  // An explicit mode: under umask 000 a new folder would be writable by everyone.
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await refuseLinkedFolder(dir);
  await refuseOpenFolder(dir);
  const release = locked ? async () => {} : await lockFolder(dir);
  const suffix = `.ipfence-${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  const temps = files.map((f) => ({ ...f, target: join(dir, f.file), temp: join(dir, f.file + suffix) }));
  const abort = async (): Promise<void> => {
    await Promise.all(temps.map((t) => rm(t.temp, { force: true })));
    await release();
  };
  try {
    await removeTemps(dir);
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
  const backup = async (): Promise<void> => {
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
      await step(`backup ${t.target}`);
    }
  };
  const record = () => ({ suffix, files: temps.map((t) => ({ file: t.file, backup: replaced.some((r) => r.target === t.target && r.backup !== undefined) })), optional, produced: files.map((f) => f.file) });
  const placed = new Set<string>();
  const place = async (): Promise<void> => {
    await refuseLinkedFolder(dir);
    for (const t of temps) {
      await rename(t.temp, t.target);
      placed.add(t.target);
      await step(`rename ${t.target}`);
    }
  };
  const finish = async (): Promise<string[]> => {
    try {
      for (const r of replaced) {
        if (r.backup) await rm(r.backup, { force: true });
        await step(`drop ${r.target}`);
      }
      return await removeStale(dir, optional, files.map((f) => f.file));
    } finally {
      await release();
    }
  };
  const rollback = async (): Promise<void> => {
    try {
      for (const r of [...replaced].reverse()) {
        if (r.backup) {
          await rename(r.backup, r.target);
          // When the target was never replaced, both names are one file and rename leaves both.
          await rm(r.backup, { force: true });
        } else if (placed.has(r.target)) await rm(r.target, { force: true });
      }
    } finally {
      await abort();
    }
  };
  return { dir, record, backup, place, finish, rollback, abort };
}

/**
 * A killed compile's leftovers in `dir`: temp files go; a backup goes only when it is still the
 * same file as its target (no rename replaced the target yet, so nothing is lost). A backup of a
 * replaced file is what a record elsewhere (a killed inventory compile's, in the folder above)
 * needs to put the folder back: it is never removed here.
 */
async function removeTemps(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (!TEMP.test(name)) continue;
    const path = join(dir, name);
    if (!name.endsWith('.old')) {
      await rm(path, { force: true });
      continue;
    }
    const target = path.replace(TEMP, '');
    const [b, t] = await Promise.all([lstat(path), lstat(target).catch(() => null)]);
    if (t !== null && t.ino === b.ino && t.dev === b.dev) await rm(path, { force: true });
    else throw new FolderError(`${path} is the only copy of ${target} as it was before a compile that was killed while renaming its files; run that compile again (an inventory's record is in the folder above, ${resolve(dir, '..')}), or remove ${path} if ${target} is what you want`);
  }
}

/**
 * All files or none, from one compile: a killed compile's write is finished or rolled back,
 * prepareAtomic, then only when every temp file is complete are they renamed into place. A
 * failure removes the temp files and leaves the previous outputs untouched. Returns the files of
 * `optional` that this compile no longer produces and that were removed (see removeStale).
 */
export async function writeAllAtomic(dir: string, files: readonly OutFile[], optional: readonly string[] = []): Promise<string[]> {
  return (await writeFoldersAtomic(dir, [{ dir, files, optional }]))[0]!;
}

/**
 * Several folders (each `root` or directly in it) written as one unit, under root's lock: an
 * interrupted earlier write is recovered first, every folder prepared, then committed together.
 */
export async function writeFoldersAtomic(root: string, folders: readonly { dir: string; files: readonly OutFile[]; optional: readonly string[] }[]): Promise<string[][]> {
  await refuseLinkedFolder(root);
  await mkdir(root, { recursive: true, mode: 0o755 });
  await refuseLinkedFolder(root);
  const release = await lockFolder(root);
  const prepared: Prepared[] = [];
  try {
    await recoverLocked(root);
    for (const f of folders) prepared.push(await prepareAtomic(f.dir, f.files, f.optional, resolve(f.dir) === resolve(root)));
    return await commitAll(root, prepared.splice(0));
  } finally {
    await Promise.all(prepared.map((p) => p.abort()));
    await release();
  }
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
