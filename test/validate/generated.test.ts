import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS build script
import { generate, OUT } from '../../scripts/gen-validator.mjs';

describe('precompiled schema validator', () => {
  it('matches schema/ipfence.schema.json (run `npm run gen:validator` after editing the schema)', () => {
    expect(readFileSync(OUT, 'utf8')).toBe(generate(readFileSync('schema/ipfence.schema.json', 'utf8')));
  });
});
