import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// What `npx ipfence` runs (package.json bin): a loader that runs the single-file build
// (dist/ipfence.cjs) from V8's code cache when it fits. `npm ci` builds both.
const BIN = 'bin/ipfence.cjs';
const loader = createRequire(import.meta.url)('../../bin/ipfence.cjs') as {
  compile: (bundleFile?: string, cacheFile?: string) => { status: string };
  BUNDLE: string;
  CACHE: string;
};

describe('the bundled CLI', () => {
  it('exists (npm ci / npm run build makes it)', () => {
    expect(existsSync(loader.BUNDLE), 'run npm run build').toBe(true);
  });
  it.each(['web-server', 'docker-host', 'policy-routing'])('compiles examples/%s.yaml to exactly the golden files', (name) => {
    const out = mkdtempSync(join(tmpdir(), 'ipfence-bundle-'));
    const r = spawnSync(process.execPath, [BIN, 'compile', `examples/${name}.yaml`, '-o', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    for (const f of readdirSync(join('test/fixtures/examples', name))) {
      if (f.endsWith('.actual') || f === 'diagnostics.txt') continue;
      const golden = readFileSync(join('test/fixtures/examples', name, f), 'utf8');
      // apply.sh.data is apply.sh up to its body (test/golden.test.ts).
      if (f === 'apply.sh.data') expect(readFileSync(join(out, 'apply.sh'), 'utf8').startsWith(golden), f).toBe(true);
      else expect(readFileSync(join(out, f), 'utf8'), f).toBe(golden);
    }
  });
  // Start-up: resolving a CommonJS package (handlebars' runtime, ajv's helper) cost 8 ms of 120.
  it.each(['compile', 'check'])('%s of an example loads no package at run time', (command) => {
    const outDir = command === 'compile' ? ['-o', mkdtempSync(join(tmpdir(), 'ipfence-bundle-'))] : [];
    const argv = [BIN, command, 'examples/docker-host.yaml', ...outDir];
    const r = spawnSync(process.execPath, argv, { encoding: 'utf8', env: { ...process.env, NODE_DEBUG: 'module' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('load built-in module');
    // Node looks for the bundle itself (the entry, by its full path); nothing else is looked for.
    const entry = JSON.stringify(resolve(BIN));
    expect(r.stderr.split('\n').filter((l) => /node_modules|looking for/.test(l) && !l.includes(`looking for ${entry} in`))).toEqual([]);
  });
  // Start-up: the first toLocaleString of a process initialises ICU, about 9 ms of every run.
  it('compiles and notes a chain too long for shadowed without calling anything of ICU', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipfence-icu-'));
    const preload = join(dir, 'no-icu.cjs');
    writeFileSync(
      preload,
      `for (const [o, k] of [[Number.prototype, 'toLocaleString'], [BigInt.prototype, 'toLocaleString'], [Array.prototype, 'toLocaleString'], [Date.prototype, 'toLocaleString'], [String.prototype, 'localeCompare'], [String.prototype, 'toLocaleUpperCase'], [String.prototype, 'toLocaleLowerCase']]) Object.defineProperty(o, k, { value() { throw new Error('ICU was used: ' + k); } });\n` +
        `Object.defineProperty(globalThis, 'Intl', { get() { throw new Error('ICU was used: Intl'); } });\n`,
    );
    const rules = Array.from({ length: 5001 }, (_, i) => `  - { name: r${i}, port: ${1024 + i}, from: ["10.0.${i >> 8}.${i & 255}"], others: pass }`);
    writeFileSync(join(dir, 'big.yaml'), `version: 1\ndefaults: { input: drop, order: as-written }\ninbound:\n${rules.join('\n')}\n`);
    const r = spawnSync(process.execPath, ['--require', preload, BIN, 'compile', join(dir, 'big.yaml'), '-o', join(dir, 'out')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("'shadowed' did not look at filter IPFENCE-INPUT (ipv4, 5,003 rules)");
    const probe = spawnSync(process.execPath, ['--require', preload, '-e', '(1000).toLocaleString("en")'], { encoding: 'utf8' });
    expect(probe.stderr, 'the preload must make ICU calls fail').toContain('ICU was used: toLocaleString');
  });
  it('checks with exit codes 0, 1 and 2', () => {
    const run = (args: string[], input?: string) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input }).status;
    expect(run(['check', 'examples/close-port.yaml'])).toBe(0);
    expect(run(['check', '-'], 'version: 2\n')).toBe(1);
    expect(run(['check'])).toBe(2);
    expect(run(['check', '-', '--against', 'nowhere'], 'version: 1\n')).toBe(1);
  });
});

describe('the code cache', () => {
  it('is made by the build for this Node, and used', () => {
    expect(loader.compile().status).toBe('accepted');
  });

  /**
   * A package folder whose bundle is the built one with one message changed at the same length,
   * beside the built bundle's cache; `run` runs it through the loader and returns its output.
   */
  function changedBundle(): { run: (...nodeFlags: string[]) => { status: string; out: string }; bundle: string; cache: string } {
    const root = mkdtempSync(join(tmpdir(), 'ipfence-cache-'));
    for (const f of ['package.json', 'schema', 'templates']) symlinkSync(resolve(f), join(root, f));
    mkdirSync(join(root, 'dist'));
    const bundle = join(root, 'dist', 'ipfence.cjs');
    const cache = `${bundle}.cache`;
    const text = readFileSync(loader.BUNDLE, 'utf8');
    expect(text).toContain('ipfence: wrote');
    writeFileSync(bundle, text.replace('ipfence: wrote', 'ipfence: WROTE'));
    copyFileSync(loader.CACHE, cache);
    const runner = join(root, 'run.cjs');
    writeFileSync(runner, `const l = require(${JSON.stringify(resolve(BIN))});\nconst c = l.compile(${JSON.stringify(bundle)}, ${JSON.stringify(cache)});\nconsole.log(c.status);\nl.run(c.script, ${JSON.stringify(bundle)});\n`);
    const run = (...nodeFlags: string[]) => {
      const r = spawnSync(process.execPath, [...nodeFlags, runner, 'compile', 'examples/close-port.yaml', '-o', join(root, 'out')], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return { status: r.stdout.trim(), out: r.stderr };
    };
    return { run, bundle, cache };
  }

  // V8 checks only the length of the source a cache was made from: given this cache, it runs the
  // old code (it prints "wrote"). The loader must notice by the bundle's hash.
  it('is not used for another bundle of the same length, which runs as written', () => {
    const { run } = changedBundle();
    const { status, out } = run();
    expect(status).toBe('stale');
    expect(out).toContain('ipfence: WROTE');
  });

  it('is not needed: without it, or with one V8 refuses (other flags), the bundle runs', () => {
    const { run, bundle, cache } = changedBundle();
    // A cache of this very bundle, so that only V8's own check can refuse it.
    const made = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(resolve(BIN))}).writeCache(['--version'], ${JSON.stringify(bundle)}, ${JSON.stringify(cache)})`], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    expect(run().status).toBe('accepted');
    const refused = run('--max-semi-space-size=4');
    expect(refused.status).toBe('rejected');
    expect(refused.out).toContain('ipfence: WROTE');
    rmSync(cache);
    const absent = run();
    expect(absent.status).toBe('absent');
    expect(absent.out).toContain('ipfence: WROTE');
  });
});
