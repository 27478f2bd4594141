import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS build script
import { generate, OUT } from '../../scripts/gen-templates.mjs';

describe('precompiled templates', () => {
  it('match templates/*.hbs (run `npm run gen:templates` after editing a template)', () => {
    expect(readFileSync(OUT, 'utf8')).toBe(generate());
  });
});
