import { createHash } from 'node:crypto';
import { basename, isAbsolute, relative, resolve, sep } from 'node:path';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { compile, type CompileResult } from '../pipeline.js';
import { EXIT_USAGE, type IO } from './io.js';
import type { Options } from './options.js';
import { report } from './output.js';
import { readFailure, utf8 } from './read.js';
import { composedHash, gatherIncludes, type RootFile } from './includes.js';
import type { IncludeSet, RootIdentity } from '../load/compose.js';
import { load } from '../load/load.js';

interface Source {
  readonly text?: string;
  /** The SHA-256 of the bytes read (hex), when files will be written from them. */
  readonly hash?: string;
  /** The name in messages: the path as given, or --stdin-filename. */
  readonly file: string;
  /** Read from a file: its path relative to the working directory, and its identity (src/cli/read.ts). */
  readonly path?: string;
  readonly id?: string;
  readonly problem?: Diagnostic;
}

/**
 * The policy's text, and with `hashed` the SHA-256 of its bytes for the headers (a plain check
 * writes none). A file is read by the one reader of the checkout (io.readFile); a refusal is an
 * `io-read` error at the file, naming why and nothing of what it holds.
 */
export async function readPolicy(path: string, o: Options, io: IO, hashed: boolean): Promise<Source> {
  const file = path === '-' ? o.values['stdin-filename'] ?? '<stdin>' : path;
  const max = o.maxBytes;
  try {
    if (path === '-') {
      const bytes = await io.readStdin(max);
      return { file, text: utf8(bytes), hash: hashed ? sha256(bytes) : undefined };
    }
    const read = await io.readFile(path, { maxBytes: max });
    return { file, path: read.path, id: read.id, text: utf8(read.bytes), hash: hashed ? sha256(read.bytes) : undefined };
  } catch (e) {
    return { file, problem: diag('io-read', { file, line: 1, col: 1 }, `cannot read the policy: ${readFailure(e)}`) };
  }
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');


export type Compiled = { readonly ok: true; readonly result: CompileResult; readonly file: string } | { readonly ok: false; readonly exit: number };

/** Reads one policy and compiles it; a read failure is reported here and ends the command (exit 2). */
export async function readAndCompile(path: string, o: Options, io: IO, write: (s: string) => void, color: boolean): Promise<Compiled> {
  const src = await readPolicy(path, o, io, true);
  if (src.problem) {
    report([src.problem], o.format, color, write);
    return { ok: false, exit: EXIT_USAGE };
  }
  const { includes, hash, identity } = await includesOf(src, src.text!, src.hash, o, io);
  return { ok: true, result: compile(src.text!, src.file, basename(src.file), { severity: o.severity, sourceHash: hash, hostDir: o.hostDir, includes, identity }), file: src.file };
}

/**
 * Whether the policy may name includes: cheap to look for, as most policies have none and are
 * parsed once. Loose on purpose: a quoted key (`"include":`), a flow mapping or an escape
 * (`"\u0069nclude"`) must not slip past; a false positive costs one more parse.
 */
const MAY_INCLUDE = /include|\\/;

/** A top-level `include:` key, however it is spelled (diff --base refuses those it cannot read as committed). */
export function hasInclude(text: string, file: string): boolean {
  if (!MAY_INCLUDE.test(text)) return false;
  const value = load(text, file).loaded?.value;
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.prototype.hasOwnProperty.call(value, 'include');
}

/**
 * The files a policy includes, read, and the headers' hash over all of them (composedHash).
 * `root` is the policy as readPolicy read it (its path and identity), or a name alone (from
 * standard input or git: its includes are relative to where it is named). `identity` goes to
 * compile with the includes.
 */
export async function includesOf(root: RootFile | string, text: string, hash: string | undefined, o: Options, io: IO): Promise<{ includes?: IncludeSet; hash?: string; identity?: RootIdentity }> {
  const r: RootFile = typeof root === 'string' ? { file: root } : root;
  if (!MAY_INCLUDE.test(text)) return { hash };
  const identity: RootIdentity = { path: r.path ?? lexical(r.file, io), ...(r.id !== undefined ? { id: r.id } : {}) };
  const gathered = await gatherIncludes({ ...r, path: identity.path }, text, io, o.maxBytes);
  const files = [{ path: r.file, hash: hash ?? '' }, ...gathered.order.flatMap((f) => (gathered.hashes.has(f) ? [{ path: f, hash: gathered.hashes.get(f)! }] : []))];
  return { includes: gathered.set, hash: hash === undefined ? undefined : composedHash(files), identity };
}

/** A name not read from disk, as a path relative to the working directory when it is one inside (else as given). */
function lexical(file: string, io: IO): string {
  const cwd = resolve(io.cwd ?? process.cwd());
  const rel = relative(cwd, resolve(cwd, file));
  return rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel) ? file : rel.split(sep).join('/');
}
