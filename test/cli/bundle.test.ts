import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The single-file build is what `npx ipfence` runs (package.json bin); `npm ci` builds it.
const BIN = 'dist/ipfence.cjs';

describe('the bundled CLI', () => {
  it('exists (npm ci / npm run build makes it)', () => {
    expect(existsSync(BIN), 'run npm run build').toBe(true);
  });
  it.each(['web-server', 'docker-host', 'policy-routing'])('compiles examples/%s.yaml to exactly the golden files', (name) => {
    const out = mkdtempSync(join(tmpdir(), 'ipfence-bundle-'));
    const r = spawnSync(process.execPath, [BIN, 'compile', `examples/${name}.yaml`, '-o', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    for (const f of readdirSync(join('test/fixtures/examples', name))) {
      if (f.endsWith('.actual') || f === 'diagnostics.txt') continue;
      expect(readFileSync(join(out, f), 'utf8'), f).toBe(readFileSync(join('test/fixtures/examples', name, f), 'utf8'));
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
  it('checks with exit codes 0, 1 and 2', () => {
    const run = (args: string[], input?: string) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input }).status;
    expect(run(['check', 'examples/close-port.yaml'])).toBe(0);
    expect(run(['check', '-'], 'version: 2\n')).toBe(1);
    expect(run(['check'])).toBe(2);
    expect(run(['check', '-', '--against', 'nowhere'], 'version: 1\n')).toBe(1);
  });
});
