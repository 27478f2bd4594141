// Bundles the CLI into one file (dist/ipfence.cjs): one module to load instead of hundreds, which
// is most of a small policy's start-up time. schema/ and templates/ stay files next to it.
// CommonJS, not an ES module: Node loads it sooner, with no asynchronous module linking (a small
// policy's compile 108 -> 105 ms, check 98 -> 94 ms, interleaved medians of 41). The sources are
// ES modules: they stay strict, and their import.meta.url is the bundle's own URL.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/bin.ts'],
  outfile: 'dist/ipfence.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  define: { 'import.meta.url': '__ipfenceUrl' },
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
  // Loaded on first use (the list in src/util/lazy.ts, through createRequire, which esbuild leaves
  // alone). A common run loads no package at all: test/cli/bundle.test.ts holds it to that.
  external: ['ajv', 'diff', 'tinyglobby', 'yaml'],
  // No shebang: the command is bin/ipfence.cjs, which compiles this file inside a function.
  banner: { js: "'use strict';\nconst __ipfenceUrl = require('node:url').pathToFileURL(__filename).href;" },
});

// V8's code cache for the bundle (bin/ipfence.cjs uses it when it fits): made by compiling an
// example, so it holds the code a common run needs. Made with the Node that builds, which is the
// one that runs it after `npm install`; another Node rejects it and compiles as usual.
const out = mkdtempSync(join(tmpdir(), 'ipfence-cache-'));
try {
  const argv = JSON.stringify(['compile', 'examples/web-server.yaml', '--out-dir', out]);
  const r = spawnSync(process.execPath, ['-e', `require('./bin/ipfence.cjs').writeCache(${argv})`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`making the code cache failed: ${r.stderr}`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
