import { describe, expect, it } from 'vitest';
import { largestBurst, rateRefused } from '../../src/normalize/rate-limits.js';
import { compile } from '../../src/pipeline.js';

// The kernel refused `-m limit --limit 1/hour --limit-burst 38` ("xt_limit: Overflow, try lower:
// 36000000/38") and with it a whole random policy's ruleset on the legacy back end.
describe('rates the kernel refuses', () => {
  it.each([
    ['limit', '1/hour', 38, true],
    ['limit', '1/hour', 31, false],
    ['limit', '1/second', 10000, false],
    ['limit', '10/minute', 5, false],
    ['hashlimit', '1/second', 5, false],
    ['hashlimit', '1000/hour', 10000, false],
    ['hashlimit', '1/day', 9000, true],
  ] as const)('%s %s burst %i: refused %s', (match, rate, burst, refused) => {
    expect(rateRefused(match, rate, burst)).toBe(refused);
  });
  it('the suggested burst and every smaller one are taken', () => {
    const most = largestBurst('limit', '1/hour');
    expect(most).toBeGreaterThan(0);
    for (let b = 1; b <= most; b++) expect(rateRefused('limit', '1/hour', b)).toBe(false);
    expect(rateRefused('limit', '1/hour', most + 1)).toBe(true);
  });
  it('is an error at the burst the policy wrote, once for `logging` however many rules use it', () => {
    const text = 'version: 1\nlogging: { rate: 1/hour, burst: 38 }\nlimits:\n  - { rate: 1/day, burst: 9000 }\ninbound:\n  - { port: 22, log: true }\n  - { port: 23, log: true }\n';
    const r = compile(text, 'p.yaml');
    expect(r.artifacts).toBeUndefined();
    expect(r.diagnostics.map((d) => [d.code, d.line, d.col])).toEqual([['rate-overflow', 2, 33], ['rate-overflow', 4, 27]]);
  });
});
