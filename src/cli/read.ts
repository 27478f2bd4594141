import { constants, type BigIntStats } from 'node:fs';
import { lstat, open, readlink, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { countText } from '../diagnostics/count.js';

/** What a read may refuse, besides the file system's own errors (ENOENT, EACCES, ...). */
class ReadError extends Error {
  constructor(
    readonly reason: 'not-regular' | 'symlink' | 'outside' | 'changed' | 'too-large',
    message: string,
  ) {
    super(message);
  }
}

/** No policy comes near this; `--max-bytes` raises it. A larger input is refused, not read. */
export const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

export interface ReadLimits {
  readonly maxBytes: number;
}

/** A file of the checkout, read once. */
export interface CheckoutFile {
  readonly bytes: Uint8Array;
  /**
   * The file itself (device and inode): `p.yaml`, `./p.yaml`, its absolute spelling and a hard
   * link to it are one file, read and included once.
   */
  readonly id: string;
  /** Its path relative to the working directory, normalized (`./a/../p.yaml` is `p.yaml`), with `/`. */
  readonly path: string;
}

/**
 * The one way ipfence reads a file of the checkout it runs in (a policy, an include, an
 * inventory and its hosts' policies, what a glob matched, diff's files, --against's files). A
 * pull request can commit a symbolic link, a FIFO or a folder under any name, and ipfence's
 * messages quote what they choke on, so only this is read:
 *
 * - a path inside `root` (the working directory; an absolute path is allowed when it is inside),
 * - with no symbolic link at any component below `root` (each is lstat'ed, and the file opened
 *   with O_NOFOLLOW),
 * - that is a regular file (not a folder, FIFO, socket or device) of at most maxBytes,
 * - and is still the file that was checked once opened: its device and inode equal what lstat
 *   saw, and the kernel's own name for the open file (/proc/self/fd) is the path checked, so a
 *   component swapped for a link between the checks and the open is caught.
 *
 * The bytes are read once, up to the size the file had when opened: the text and the headers'
 * hash are of the same read. A refusal is a ReadError naming the path and why, never its content.
 */
export async function readCheckoutFile(path: string, limits: ReadLimits, root: string = process.cwd()): Promise<CheckoutFile> {
  const realRoot = await realpath(root);
  const rel = await insideRoot(path, root, realRoot);
  if (rel === '') throw new ReadError('not-regular', 'it is the working directory itself, a folder, not a file');
  const parts = rel.split('/');
  const checked: BigIntStats[] = [];
  let at = realRoot;
  for (const [i, part] of parts.entries()) {
    at = join(at, part);
    const st = await lstat(at, { bigint: true });
    const last = i === parts.length - 1;
    const shown = parts.slice(0, i + 1).join('/');
    if (st.isSymbolicLink()) throw new ReadError('symlink', last ? LINK : `${shown} on its way is a symbolic link; ${LINK_WHY}`);
    if (!last && !st.isDirectory()) throw new ReadError('not-regular', `${shown} on its way is not a folder`);
    if (last && !st.isFile()) throw new ReadError('not-regular', `it is ${kind(st)}, not a regular file`);
    checked.push(st);
  }
  const expected = checked[checked.length - 1]!;
  if (expected.size > limits.maxBytes) throw new ReadError('too-large', tooLarge(Number(expected.size), limits.maxBytes));
  let fh;
  try {
    // O_NONBLOCK: a FIFO swapped in after the lstat must not hang the open.
    fh = await open(at, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new ReadError('symlink', LINK);
    throw e;
  }
  try {
    const st = await fh.stat({ bigint: true });
    if (!st.isFile() || st.dev !== expected.dev || st.ino !== expected.ino) throw new ReadError('changed', CHANGED);
    await sameFolders(fh.fd, at, realRoot, parts, checked);
    if (st.size > limits.maxBytes) throw new ReadError('too-large', tooLarge(Number(st.size), limits.maxBytes));
    const size = Number(st.size);
    const bytes = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await fh.read(bytes, got, size - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return { bytes: bytes.subarray(0, got), id: `${st.dev}:${st.ino}`, path: rel };
  } finally {
    await fh.close();
  }
}

const LINK_WHY = 'ipfence reads no file of the checkout through a symbolic link (a committed link can point anywhere); commit the file itself';
const LINK = `it is a symbolic link; ${LINK_WHY}`;
const CHANGED = 'it changed while it was being opened (a part of its path was replaced); run again when nothing is writing the checkout';

/**
 * The open file is the one whose path was checked: the kernel's name for it (Linux) is the path
 * walked, or (without /proc) every folder on the way still has the device and inode it had.
 */
async function sameFolders(fd: number, path: string, realRoot: string, parts: readonly string[], checked: readonly BigIntStats[]): Promise<void> {
  let name: string | undefined;
  try {
    name = await readlink(`/proc/self/fd/${fd}`);
  } catch {
    name = undefined;
  }
  if (name !== undefined) {
    if (name !== path) throw new ReadError('changed', CHANGED);
    return;
  }
  let at = realRoot;
  for (const [i, part] of parts.entries()) {
    at = join(at, part);
    const st = await lstat(at, { bigint: true }).catch(() => undefined);
    if (!st || st.isSymbolicLink() || st.dev !== checked[i]!.dev || st.ino !== checked[i]!.ino) throw new ReadError('changed', CHANGED);
  }
}

/**
 * `path` relative to the root, normalized, with `/`; '' for the root itself. An absolute path may
 * spell the root as given, as its real path, or through links above it (`/home/me/repo` when
 * /home is a link): a leading part of the path whose real path is the root stands for it, and
 * what follows is checked component by component like any relative path. Anything else outside
 * is refused.
 */
async function insideRoot(path: string, root: string, realRoot: string): Promise<string> {
  const abs = resolve(root, path);
  for (const base of [resolve(root), realRoot]) {
    const r = relative(base, abs);
    if (r === '') return '';
    if (r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r)) return r.split(sep).join('/');
  }
  const parts = abs.split(sep).filter((x) => x !== '');
  // The shortest such part: a link inside the checkout after it is still a component to refuse.
  for (let n = 1; n <= parts.length; n++) {
    const real = await realpath(sep + parts.slice(0, n).join(sep)).catch(() => undefined);
    if (real === realRoot) return parts.slice(n).join('/');
  }
  throw new ReadError('outside', `it is outside the directory ipfence runs in (${realRoot}); ipfence reads only files of the checkout it runs in (run it from a folder that holds the file)`);
}

function kind(st: BigIntStats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** A stream's bytes, refused as soon as they pass maxBytes (standard input may be endless). */
export async function readLimited(stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const c of stream) {
    total += c.length;
    if (total > maxBytes) throw new ReadError('too-large', tooLarge(total, maxBytes, 'at least '));
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

const tooLarge = (size: number, max: number, atLeast = ''): string =>
  `it is ${atLeast}${countText(size)} bytes, over the limit of ${countText(max)} (no policy is near it; --max-bytes N raises it)`;

/** Bytes as UTF-8 text, as `readFile(path, 'utf8')` decodes them (a byte order mark is kept, bad bytes become U+FFFD). */
export const utf8 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

/** Why a read failed, as a message ends: the file system's reason, or what ipfence refused. */
export function readFailure(e: unknown): string {
  if (e instanceof ReadError) return e.message;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR') return 'a part of its path is not a folder';
  if (code === 'ENAMETOOLONG') return 'its name is too long';
  return (e as Error).message;
}
