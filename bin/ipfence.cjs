#!/usr/bin/env node
'use strict';
// The `ipfence` command: runs the bundle (dist/ipfence.cjs) from V8's code cache when one built
// for exactly this bundle and this Node is there (dist/ipfence.cjs.cache, written by `npm run
// build`). Compiling the bundle's code is then skipped: a small policy's run is about 10 ms
// shorter. Without a usable cache the bundle is compiled as `require` would.
//
// V8 checks that a cache fits its own version and flags, but of the source only its length, and
// a cache applied to other code of the same length would run the wrong code. So the cache starts
// with the SHA-256 of the bundle it was made from, and is used only when the bundle has that hash.
const { createHash } = require('node:crypto');
const { readFileSync, writeFileSync } = require('node:fs');
const { createRequire, wrap } = require('node:module');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

const BUNDLE = join(__dirname, '..', 'dist', 'ipfence.cjs');
const CACHE = `${BUNDLE}.cache`;
const HASH_BYTES = 32;
const sha256 = (bytes) => createHash('sha256').update(bytes).digest();

/** The cache's data if it was made from `bundle`, with the reason when it is not. */
function cacheFor(bundle, cacheFile) {
  let cache;
  try {
    cache = readFileSync(cacheFile);
  } catch {
    return { status: 'absent' };
  }
  if (cache.length <= HASH_BYTES || !sha256(bundle).equals(cache.subarray(0, HASH_BYTES))) return { status: 'stale' };
  return { status: 'found', data: cache.subarray(HASH_BYTES) };
}

/** The bundle as Node would wrap a CommonJS module, compiled with `cachedData` if given. */
function scriptOf(bundle, bundleFile, cachedData) {
  return new Script(wrap(bundle.toString('utf8')), { filename: bundleFile, cachedData });
}

/**
 * The bundle compiled, with the code cache when it fits. `status`: accepted (the cache was
 * used), rejected (V8 refused it: another Node, or other V8 flags), stale (made from another
 * bundle) or absent.
 */
function compile(bundleFile = BUNDLE, cacheFile = CACHE) {
  const bundle = readFileSync(bundleFile);
  const cache = cacheFor(bundle, cacheFile);
  const script = scriptOf(bundle, bundleFile, cache.data);
  const status = cache.data === undefined ? cache.status : script.cachedDataRejected ? 'rejected' : 'accepted';
  return { script, status };
}

/** Runs the compiled bundle as the module at `bundleFile`, as `require` would. */
function run(script, bundleFile = BUNDLE) {
  const module = { exports: {}, filename: bundleFile };
  script.runInThisContext().call(module.exports, module.exports, createRequire(bundleFile), module, bundleFile, dirname(bundleFile));
}

/**
 * For the build: runs the CLI with `argv` from the bundle and, when it exits, writes the code
 * cache, which then holds the code that this run compiled.
 */
function writeCache(argv, bundleFile = BUNDLE, cacheFile = CACHE) {
  const bundle = readFileSync(bundleFile);
  const script = scriptOf(bundle, bundleFile, undefined);
  process.argv = [process.argv[0], bundleFile, ...argv];
  process.on('exit', () => {
    writeFileSync(cacheFile, Buffer.concat([sha256(bundle), script.createCachedData()]));
  });
  run(script, bundleFile);
}

module.exports = { compile, run, writeCache, BUNDLE, CACHE };

if (require.main === module) run(compile().script);
