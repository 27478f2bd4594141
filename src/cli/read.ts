import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { countText } from '../diagnostics/count.js';

/** What a read may refuse, besides the file system's own errors (ENOENT, EACCES, ...). */
export class ReadError extends Error {
  constructor(
    readonly reason: 'not-regular' | 'symlink' | 'too-large',
    message: string,
  ) {
    super(message);
  }
}

/** No policy comes near this; `--max-bytes` raises it. A larger input is refused, not read. */
export const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

export interface ReadLimits {
  readonly maxBytes: number;
  /** Refuse a symbolic link itself (committed outputs: a link in a pull request can point anywhere). */
  readonly noFollow?: boolean;
}

/**
 * A regular file's bytes, up to the size it had when opened: a device (/dev/zero), a pipe or a
 * socket is refused, and a file the kernel makes up as it is read (/proc, whose files say they
 * are empty) reads as what its size says. Larger than maxBytes is refused before reading.
 */
export async function readRegularFile(path: string, limits: ReadLimits): Promise<Uint8Array> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | (limits.noFollow ? constants.O_NOFOLLOW : 0));
  } catch (e) {
    if (limits.noFollow && (e as NodeJS.ErrnoException).code === 'ELOOP') throw new ReadError('symlink', 'it is a symbolic link');
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ReadError('not-regular', 'it is not a regular file');
    if (st.size > limits.maxBytes) throw new ReadError('too-large', tooLarge(st.size, limits.maxBytes));
    const bytes = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < st.size) {
      const { bytesRead } = await fh.read(bytes, got, st.size - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return bytes.subarray(0, got);
  } finally {
    await fh.close();
  }
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
