import * as fs from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { GlobOptions } from 'tinyglobby';
import { lazy } from '../util/lazy.js';
import { UsageError } from './options.js';

const GLOB = /[*?[\]{}]/;

/**
 * Quoted globs are expanded here (shells differ on `**`); matches are sorted for stable output.
 * The walk never goes through a symbolic link: a link to a file that the pattern matches is
 * returned as it is, and a link to a folder the walk would enter is returned in place of what it
 * holds, so the one reader of the checkout (src/cli/read.ts) refuses each by name. A committed
 * link to `..` or `/` is neither followed out of the checkout nor walked.
 */
export async function expandGlobs(args: readonly string[], cwd: string = process.cwd()): Promise<string[]> {
  const out: string[] = [];
  for (const a of args) {
    if (a === '-' || !GLOB.test(a) || fs.existsSync(resolve(cwd, a))) {
      out.push(a);
      continue;
    }
    // The walk itself stays inside: '../**/*.yaml' would list (and refuse) a whole home folder.
    const base = a.split('/').filter((_, i, parts) => !parts.slice(0, i + 1).some((p) => GLOB.test(p))).join('/');
    const rel = relative(resolve(cwd), resolve(cwd, base || '.'));
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) throw new UsageError(`'${a}' looks outside the directory ipfence runs in, which is all ipfence reads; run it from a folder that holds the policies`);
    const links = new Set<string>();
    const found = await lazy.tinyglobby().glob(a, { cwd, onlyFiles: true, dot: false, fs: linkStopping(cwd, links) });
    const all = [...new Set([...found, ...links])].sort();
    if (all.length === 0) throw new UsageError(`no file matches '${a}'`);
    out.push(...all);
  }
  return [...new Set(out)];
}

/**
 * The file system as the glob walker sees it: a link is never resolved (its own path stands for
 * it, so a link to a file is matched by its name), and a folder reached through a link reads as
 * empty, its link recorded in `links` (relative to cwd) instead.
 */
function linkStopping(cwd: string, links: Set<string>): GlobOptions['fs'] {
  const isLink = (p: string): boolean => {
    try {
      return fs.lstatSync(p).isSymbolicLink();
    } catch {
      return false;
    }
  };
  return {
    realpath: ((p: string, cb: (e: NodeJS.ErrnoException | null, r?: string) => void) => cb(null, p)) as typeof fs.realpath,
    realpathSync: ((p: string) => p) as unknown as typeof fs.realpathSync,
    readdir: ((p: string, opts: { withFileTypes: true }, cb: (e: NodeJS.ErrnoException | null, entries: fs.Dirent[]) => void) => {
      const dir = resolve(cwd, p);
      if (isLink(dir.replace(/[/\\]+$/, ''))) {
        links.add(relative(cwd, dir).split(sep).join('/'));
        cb(null, []);
        return;
      }
      fs.readdir(dir, opts, cb);
    }) as unknown as typeof fs.readdir,
  };
}
