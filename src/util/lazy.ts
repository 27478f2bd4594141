import { createRequire } from 'node:module';

/**
 * Libraries that only some runs need, loaded on first use: start-up of a small `check` is mostly
 * module loading. The bundle keeps these as runtime require()s (scripts/bundle.mjs marks them
 * external), so a run that never needs them never loads them.
 */
const requireHere = createRequire(import.meta.url);

export const lazy = {
  diff: (): typeof import('diff') => requireHere('diff') as typeof import('diff'),
  tinyglobby: (): typeof import('tinyglobby') => requireHere('tinyglobby') as typeof import('tinyglobby'),
  /** The full YAML parser: for texts outside fastYaml's subset, and their positions. */
  yaml: (): typeof import('yaml') => requireHere('yaml') as typeof import('yaml'),
  /** Node's own, but loading it and the stream modules it pulls in takes about 1 ms of start-up. */
  v8: (): typeof import('node:v8') => requireHere('node:v8') as typeof import('node:v8'),
};
