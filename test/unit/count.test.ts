import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countText } from '../../src/diagnostics/count.js';

describe('countText', () => {
  it.each([
    [0, '0'],
    [7, '7'],
    [999, '999'],
    [1000, '1,000'],
    [5000, '5,000'],
    [50003, '50,003'],
    [1234567, '1,234,567'],
    [-1234, '-1,234'],
  ])('%d is %s', (n, text) => {
    expect(countText(n)).toBe(text);
  });

  it("writes every integer as toLocaleString('en') does", () => {
    fc.assert(fc.property(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), (n) => countText(n) === n.toLocaleString('en')), { numRuns: 5000 });
  });
});
