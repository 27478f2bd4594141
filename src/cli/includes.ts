import { createHash } from 'node:crypto';
import type { ExtraInclude, IncludeSet } from '../load/compose.js';
import { resolveInclude } from '../load/include-path.js';
import { load } from '../load/load.js';
import type { IO } from './io.js';
import { readFailure, utf8 } from './read.js';

/** An include set as read, with the files in the order they are first included (depth first). */
export interface Gathered {
  readonly set: IncludeSet;
  readonly order: readonly string[];
  readonly hashes: ReadonlyMap<string, string>;
}

/** The policy whose includes are gathered: its name in messages, and (read from a file) its path and identity. */
export interface RootFile {
  readonly file: string;
  /** Its path relative to the working directory, which its includes are relative to (src/cli/read.ts). */
  readonly path?: string;
  /** Device and inode: an include that is the policy itself under another name is the policy. */
  readonly id?: string;
}

export type IncludeRead = { text: string; hash: string; id: string } | { error: string };

/**
 * Reads every file the policy's includes reach, before the pure compile composes them. The paths
 * are resolved as compose resolves them (one function), each read by the one reader of the
 * checkout (io.readFile: a regular file inside the working directory, through no symbolic link).
 * A file reached under two names (or hard links) is read and followed once. `cache`: the files
 * an inventory's hosts share, read once.
 */
export async function gatherIncludes(root: RootFile, rootText: string, io: IO, maxBytes: number, extra: readonly ExtraInclude[] = [], cache = new Map<string, IncludeRead>()): Promise<Gathered> {
  const set = new Map<string, IncludeRead>();
  const order: string[] = [];
  const hashes = new Map<string, string>();
  const rootPath = root.path ?? root.file;
  const followed = new Set<string>(root.id === undefined ? [] : [root.id]);
  const visit = async (file: string, text: string | undefined, before: readonly ExtraInclude[]): Promise<void> => {
    const specs: { spec: string; base: string }[] = [...before];
    const value = text === undefined ? undefined : load(text, file).loaded?.value;
    const own = value !== null && typeof value === 'object' ? (value as Record<string, unknown>).include : undefined;
    for (const spec of typeof own === 'string' ? [own] : Array.isArray(own) ? own : []) if (typeof spec === 'string') specs.push({ spec, base: file });
    for (const { spec, base } of specs) {
      const where = resolveInclude(base, spec);
      if ('error' in where || set.has(where.path) || where.path === rootPath) continue;
      let got = cache.get(where.path);
      if (got === undefined) {
        try {
          const read = await io.readFile(where.path, { maxBytes });
          got = { text: utf8(read.bytes), hash: createHash('sha256').update(read.bytes).digest('hex'), id: read.id };
        } catch (e) {
          got = { error: readFailure(e) };
        }
        cache.set(where.path, got);
      }
      set.set(where.path, got);
      if ('text' in got) {
        if (followed.has(got.id)) continue;
        followed.add(got.id);
        order.push(where.path);
        hashes.set(where.path, got.hash);
        await visit(where.path, got.text, []);
      } else order.push(where.path);
    }
  };
  await visit(rootPath, rootText, extra);
  return { set, order, hashes };
}

/**
 * The headers' SHA-256 for a policy made of several files: of what `sha256sum` prints for them,
 * the policy first, then its includes as first included (`sha256sum policy.yaml shared/base.yaml
 * | sha256sum`). An inventory's host adds a line for its variables: the SHA-256 of their JSON
 * (keys sorted) and the name `variables`.
 */
export function composedHash(files: readonly { readonly path: string; readonly hash: string }[]): string {
  return createHash('sha256').update(files.map((f) => `${f.hash}  ${f.path}\n`).join('')).digest('hex');
}
