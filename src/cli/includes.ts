import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, sep } from 'node:path';
import type { ExtraInclude, IncludeSet } from '../load/compose.js';
import { resolveInclude } from '../load/include-path.js';
import { load } from '../load/load.js';
import type { IO } from './io.js';
import { readFailure, utf8 } from './source.js';

/** An include set as read, with the files in the order they are first included (depth first). */
export interface Gathered {
  readonly set: IncludeSet;
  readonly order: readonly string[];
  readonly hashes: ReadonlyMap<string, string>;
}

/**
 * Reads every file the policy's includes reach, before the pure compile composes them. The paths
 * are resolved as compose resolves them (one function), each read as a regular file and never
 * through a symbolic link (a link committed in a pull request can point anywhere). `cache`: the
 * files an inventory's hosts share, read once.
 */
export async function gatherIncludes(rootFile: string, rootText: string, io: IO, maxBytes: number, extra: readonly ExtraInclude[] = [], cache = new Map<string, { text: string; hash: string } | { error: string }>()): Promise<Gathered> {
  const set = new Map<string, { text: string; hash: string } | { error: string }>();
  const order: string[] = [];
  const hashes = new Map<string, string>();
  const visit = async (file: string, text: string | undefined, before: readonly ExtraInclude[]): Promise<void> => {
    const specs: { spec: string; base: string }[] = [...before];
    const value = text === undefined ? undefined : load(text, file).loaded?.value;
    const own = value !== null && typeof value === 'object' ? (value as Record<string, unknown>).include : undefined;
    for (const spec of typeof own === 'string' ? [own] : Array.isArray(own) ? own : []) if (typeof spec === 'string') specs.push({ spec, base: file });
    for (const { spec, base } of specs) {
      const where = resolveInclude(base, spec);
      if ('error' in where || set.has(where.path) || where.path === rootFile) continue;
      let got = cache.get(where.path);
      if (got === undefined) {
        try {
          await insideWorkingDirectory(where.path);
          const bytes = await io.readFile(where.path, { maxBytes, noFollow: true });
          got = { text: utf8(bytes), hash: createHash('sha256').update(bytes).digest('hex') };
        } catch (e) {
          got = { error: readFailure(e) };
        }
        cache.set(where.path, got);
      }
      set.set(where.path, got);
      order.push(where.path);
      if ('text' in got) {
        hashes.set(where.path, got.hash);
        await visit(where.path, got.text, []);
      }
    }
  };
  await visit(rootFile, rootText, extra);
  return { set, order, hashes };
}

/**
 * A link to a folder on the way to an include could lead anywhere: the path, with every link
 * resolved, must still be inside the directory ipfence runs in. (The file itself is never read
 * through a link.) A path that does not exist is left to the read, which says so.
 */
async function insideWorkingDirectory(path: string): Promise<void> {
  let real: string;
  try {
    real = await realpath(dirname(path));
  } catch {
    return;
  }
  const root = await realpath('.');
  const rel = relative(root, real);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) throw new Error('a symbolic link on its way leads out of the directory ipfence runs in');
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
