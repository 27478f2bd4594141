import { describe, expect, it } from 'vitest';
import { visible } from '../../src/diagnostics/visible.js';

/** What a terminal or a CI log acts on is escaped; letters of any script are kept. */
describe('visible', () => {
  it.each([
    ['\u001b[31m', '\\x1b[31m'],
    ['\u009b31m', '\\x9b31m'],
    ['a\u202eb', 'a\\u202eb'],
    ['a\u2067b', 'a\\u2067b'],
    // Bidi marks reorder a line as overrides do.
    ['a\u200eb', 'a\\u200eb'],
    ['a\u200fb', 'a\\u200fb'],
    ['a\u061cb', 'a\\u061cb'],
    ['a\u2028b', 'a\\u2028b'],
    ['règle ½ шлюз 規則', 'règle ½ шлюз 規則'],
  ])('%j reads %j', (text, shown) => {
    expect(visible(text)).toBe(shown);
  });
});
