import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS build script
import { generatedCode } from '../scripts/gen.mjs';
import { docsPages } from '../src/docs/pages.js';

const files: Record<string, string> = { ...(generatedCode() as Record<string, string>), ...docsPages() };

describe('generated files', () => {
  it.each(Object.keys(files))('%s is what `npm run gen` writes from its sources', (path) => {
    expect(readFileSync(path, 'utf8') === files[path], `${path} is stale: run \`npm run gen\``).toBe(true);
  });
  it('are all made by `npm run gen`: no other generated file in src/ or docs/', () => {
    const marked = ['src', 'docs'].flatMap((dir) =>
      (readdirSync(dir, { recursive: true }) as string[]).map((f) => `${dir}/${f}`).filter((f) => /\.generated\.ts$/.test(f) || (f.endsWith('.md') && /^Generated from /m.test(readFileSync(f, 'utf8')))),
    );
    expect(marked.sort()).toEqual(Object.keys(files).sort());
  });
});
