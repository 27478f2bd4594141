import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { READ_BY } from '../src/normalize/normalize.js';

// Every key of the policy names the file that reads it; each such file exists and reads the key.
describe('READ_BY', () => {
  it.each(Object.entries(READ_BY))('%s is read by %s', (key, by) => {
    if (by === 'validate' || by === 'compose') return;
    const file = by.includes('/') ? `src/${by}` : `src/normalize/${by}`;
    expect(existsSync(file), file).toBe(true);
    expect(readFileSync(file, 'utf8')).toMatch(new RegExp(`\\.${key.includes('-') ? `\\['${key}'\\]` : `\\b${key}\\b`}|'${key}'`));
  });
});
