// Bundles the CLI into one file (dist/ipfence.mjs): one module to load instead of hundreds, which
// is most of a small policy's start-up time. schema/ and templates/ stay files next to it.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/bin.ts'],
  outfile: 'dist/ipfence.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
  // Loaded on first use (the list in src/lazy.ts, through createRequire, which esbuild leaves
  // alone). A common run loads no CommonJS at all: test/cli/bundle.test.ts holds it to that.
  external: ['ajv', 'diff', 'tinyglobby', 'js-yaml', 'yaml'],
  banner: { js: '#!/usr/bin/env node' },
});
