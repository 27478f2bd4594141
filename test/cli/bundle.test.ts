import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// What `npx ipfence` runs (package.json bin): a launcher that requires the single-file build
// (dist/ipfence.cjs), which `npm ci` builds.
const BIN = 'bin/ipfence.cjs';
const BUNDLE = 'dist/ipfence.cjs';

describe('the bundled CLI', () => {
  it('exists (npm ci / npm run build makes it)', () => {
    expect(existsSync(BUNDLE), 'run npm run build').toBe(true);
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
    // Node looks for the launcher and the bundle (each by its full path); nothing else is looked for.
    const own = [BIN, BUNDLE].map((f) => `looking for ${JSON.stringify(resolve(f))} in`);
    expect(r.stderr.split('\n').filter((l) => /node_modules|looking for/.test(l) && !own.some((o) => l.includes(o)))).toEqual([]);
  });
  // Start-up: the first toLocaleString of a process initialises ICU, about 9 ms of every run.
  it('compiles a 5,001-rule policy, every check on, without calling anything of ICU', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipfence-icu-'));
    const preload = join(dir, 'no-icu.cjs');
    writeFileSync(
      preload,
      `for (const [o, k] of [[Number.prototype, 'toLocaleString'], [BigInt.prototype, 'toLocaleString'], [Array.prototype, 'toLocaleString'], [Date.prototype, 'toLocaleString'], [String.prototype, 'localeCompare'], [String.prototype, 'toLocaleUpperCase'], [String.prototype, 'toLocaleLowerCase']]) Object.defineProperty(o, k, { value() { throw new Error('ICU was used: ' + k); } });\n` +
        `Object.defineProperty(globalThis, 'Intl', { get() { throw new Error('ICU was used: Intl'); } });\n`,
    );
    const rules = Array.from({ length: 5001 }, (_, i) => `  - { name: r${i}, port: ${1024 + i}, from: ["10.0.${i >> 8}.${i & 255}"], others: pass }`);
    writeFileSync(join(dir, 'big.yaml'), `version: 1\ndefaults: { input: drop, order: as-written }\ninbound:\n${rules.join('\n')}\n`);
    // Run in the folder: ipfence reads only files of the directory it runs in.
    const r = spawnSync(process.execPath, ['--require', preload, resolve(BIN), 'compile', 'big.yaml', '-o', join(dir, 'out')], { encoding: 'utf8', cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('ipfence: wrote');
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
