import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ipfencePolicy } from '../../bench/generate.mjs';
import { LARGE_POLICY_BYTES, YOUNG_GENERATION_BYTES } from '../../src/cli/young-generation.js';

// The command holds V8's young generation at 8 MiB for large policies (src/cli/young-generation.ts).
// Measured from inside the command's own process: a preloaded module reports the young
// generation's size when the process exits.
const dir = mkdtempSync(join(tmpdir(), 'ipfence-young-'));
const report = join(dir, 'report.cjs');
writeFileSync(report, `process.on('exit', () => {
  const s = require('node:v8').getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
  process.stderr.write('new space ' + s.space_size + '\\n');
});\n`);
const large = join(dir, 'large.yaml');
writeFileSync(large, ipfencePolicy(6000));

function youngGeneration(args: string[], options: { input?: string; nodeOptions?: string } = {}): number {
  const env = { ...process.env, NODE_OPTIONS: options.nodeOptions ?? '' };
  const r = spawnSync(process.execPath, ['-r', report, 'bin/ipfence.cjs', ...args], { encoding: 'utf8', input: options.input, env });
  expect(r.status, r.stderr).toBe(0);
  const m = /new space (\d+)/.exec(r.stderr);
  expect(m, r.stderr).not.toBeNull();
  return Number(m![1]);
}

describe('the young generation', () => {
  it('the large policy is large', () => {
    expect(ipfencePolicy(6000).length).toBeGreaterThanOrEqual(LARGE_POLICY_BYTES);
  });
  // V8 alone grows it to 16 MiB for this policy (and 32 MiB at 50,000 rules).
  it('is held at 8 MiB for a large policy read from a file', () => {
    expect(youngGeneration(['compile', large, '-o', join(dir, 'out')])).toBe(YOUNG_GENERATION_BYTES);
  });
  it('is held at 8 MiB for a large policy read from standard input', () => {
    expect(youngGeneration(['check', '-'], { input: ipfencePolicy(6000) })).toBe(YOUNG_GENERATION_BYTES);
  });
  it('is left to V8 for a small policy (no filler, no flag)', () => {
    expect(youngGeneration(['check', 'examples/web-server.yaml'])).toBeLessThan(YOUNG_GENERATION_BYTES);
  });
  it("is left to the user's own heap options", () => {
    expect(youngGeneration(['check', large], { nodeOptions: '--max-semi-space-size=32' })).toBeGreaterThan(YOUNG_GENERATION_BYTES);
  });
});
