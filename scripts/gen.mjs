// Every generated file of the repository, from one list. `npm run gen` writes them, and `npm run
// build` runs it first; under CI=true it writes nothing and fails on a stale file instead, so a
// commit that forgot to regenerate cannot pass CI by being regenerated there.
// test/generated.test.ts fails on a stale file too.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { templatesSource, OUT as TEMPLATES } from './gen/templates.mjs';
import { validatorSource, OUT as VALIDATOR } from './gen/validator.mjs';

/** The generated code, by path: written before the pages, which run the compiler that uses it. */
export function generatedCode() {
  return { [VALIDATOR]: validatorSource(), [TEMPLATES]: templatesSource() };
}

/** src/docs/pages.ts, bundled beside dist/ (its imports stay packages), for a script to import. */
async function importPages() {
  const outfile = 'dist/gen/pages.mjs';
  await build({ entryPoints: ['src/docs/pages.ts'], outfile, bundle: true, platform: 'node', format: 'esm', packages: 'external', logLevel: 'warning' });
  return import(`${pathToFileURL(outfile).href}?${Date.now()}`);
}

const current = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** Writes (or, checking, compares) each file; returns the paths that were stale. */
function update(files, check) {
  const stale = Object.keys(files).filter((path) => current(path) !== files[path]);
  if (!check) for (const path of stale) writeFileSync(path, files[path]);
  return stale;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const check = process.argv.includes('--check') || process.env.CI === 'true';
  const stale = update(generatedCode(), check);
  mkdirSync('dist/gen', { recursive: true });
  stale.push(...update((await importPages()).docsPages(), check));
  if (check && stale.length > 0) {
    console.error(`stale generated files (run \`npm run gen\` and commit them):\n${stale.map((p) => `  ${p}`).join('\n')}`);
    process.exit(1);
  }
  console.log(stale.length === 0 ? 'generated files up to date' : `${check ? 'stale' : 'wrote'}: ${stale.join(', ')}`);
}
