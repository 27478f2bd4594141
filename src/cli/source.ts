import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { compile, type CompileResult } from '../pipeline.js';
import { EXIT_USAGE, type IO } from './io.js';
import type { Options } from './options.js';
import { report } from './output.js';
import { ReadError } from './read.js';
import { composedHash, gatherIncludes } from './includes.js';
import type { IncludeSet } from '../load/compose.js';

interface Source {
  readonly text?: string;
  /** The SHA-256 of the bytes read (hex), when files will be written from them. */
  readonly hash?: string;
  readonly file: string;
  readonly problem?: Diagnostic;
}

/** Bytes as UTF-8 text, as `readFile(path, 'utf8')` decodes them (a byte order mark is kept, bad bytes become U+FFFD). */
export const utf8 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

/** The policy's text, and with `hashed` the SHA-256 of its bytes for the headers (a plain check writes none). */
export async function readPolicy(path: string, o: Options, io: IO, hashed: boolean): Promise<Source> {
  const file = path === '-' ? o.values['stdin-filename'] ?? '<stdin>' : path;
  const max = o.maxBytes;
  try {
    const bytes = path === '-' ? await io.readStdin(max) : await io.readFile(path, { maxBytes: max });
    return { file, text: utf8(bytes), hash: hashed ? createHash('sha256').update(bytes).digest('hex') : undefined };
  } catch (e) {
    return { file, problem: diag('io-read', { file, line: 1, col: 1 }, `cannot read the policy: ${readFailure(e)}`) };
  }
}

/** Why a read failed, as a message ends: the file system's reason, or what ipfence refused. */
export function readFailure(e: unknown): string {
  if (e instanceof ReadError) return e.message;
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
}

export type Compiled = { readonly ok: true; readonly result: CompileResult; readonly file: string } | { readonly ok: false; readonly exit: number };

/** Reads one policy and compiles it; a read failure is reported here and ends the command (exit 2). */
export async function readAndCompile(path: string, o: Options, io: IO, write: (s: string) => void, color: boolean): Promise<Compiled> {
  const src = await readPolicy(path, o, io, true);
  if (src.problem) {
    report([src.problem], o.format, color, write);
    return { ok: false, exit: EXIT_USAGE };
  }
  const { includes, hash } = await includesOf(src.file, src.text!, src.hash, o, io);
  return { ok: true, result: compile(src.text!, src.file, basename(src.file), { severity: o.severity, sourceHash: hash, hostDir: o.hostDir, includes }), file: src.file };
}

/** A top-level `include:` key (cheap to look for: most policies have none, and are parsed once). */
export const HAS_INCLUDE = /^include[ \t]*:/m;

/** The files a policy includes, read, and the headers' hash over all of them (composedHash). */
export async function includesOf(file: string, text: string, hash: string | undefined, o: Options, io: IO): Promise<{ includes?: IncludeSet; hash?: string }> {
  if (!HAS_INCLUDE.test(text)) return { hash };
  const gathered = await gatherIncludes(file, text, io, o.maxBytes);
  const files = [{ path: file, hash: hash ?? '' }, ...gathered.order.flatMap((f) => (gathered.hashes.has(f) ? [{ path: f, hash: gathered.hashes.get(f)! }] : []))];
  return { includes: gathered.set, hash: hash === undefined ? undefined : composedHash(files) };
}
