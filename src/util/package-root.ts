import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The folder holding ipfence's package.json and schema/, whether running from src/ or from the bundle in dist/. */
function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'schema'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('ipfence: cannot find its package folder (package.json and schema/)');
    dir = up;
  }
  root = dir;
  return dir;
}

function readPackageFile(...parts: string[]): string {
  return readFileSync(join(packageRoot(), ...parts), 'utf8');
}

export const VERSION: string = (JSON.parse(readPackageFile('package.json')) as { version: string }).version;

/** The policy's JSON Schema (schema/ipfence.schema.json), read on first use. */
let schema: unknown;
export const policySchema = (): unknown => (schema ??= JSON.parse(readPackageFile('schema', 'ipfence.schema.json')));
