import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * The tests are type-checked with the source (tsconfig.test.json): vitest strips types without
 * checking them, so a changed signature (decidingRule's) broke three test call sites that only a
 * run found, and an always-true comparison in the interpreter went unseen.
 */
describe('types', () => {
  it('the source and the tests type-check together', () => {
    const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.test.json'], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);
  // The benchmark is JavaScript, checked as such (tsconfig.bench.json): its generators and its
  // table are what issue figures rest on.
  it('the benchmark type-checks', () => {
    const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.bench.json'], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);
});
