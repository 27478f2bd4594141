import { lazy } from '../util/lazy.js';

/**
 * A large policy's compile keeps most of what it allocates (the policy's tree, the IR, the files'
 * text). V8 answers such survival by doubling its young generation up to two 16 MiB semi-spaces:
 * 32 MiB touched for objects on their way to the old generation. Held at 8 MiB, a 50,000-rule
 * compile peaks at 141 MB instead of 160 MB, and is no slower (README, "Scale and address sets").
 *
 * So the command (src/bin.ts, never the library) holds it there once it has read a policy this
 * large: it lets V8 grow the young generation to that size at once, with filler that dies at
 * once, and then sets V8's growth factor to 1. The size itself cannot be set once V8 has started
 * (`--max-semi-space-size` is read when the heap is made), and on Node's command line the flag
 * would make V8 refuse the code cache (bin/ipfence.cjs).
 */
export const LARGE_POLICY_BYTES = 512 * 1024;
/** Both semi-spaces. Of 4, 8 and 16 MiB, 8 was the fastest at 50,000 rules, and faster than V8's 32 (README). */
export const YOUNG_GENERATION_BYTES = 8 * 1024 * 1024;
/**
 * Growing from V8's initial 1 MiB to 8 MiB takes under 8 MiB of filler; past twice that, V8 is not
 * growing (someone set a smaller maximum or the growth factor) and more filler would only cost.
 */
const MAX_FILLER_BYTES = 2 * YOUNG_GENERATION_BYTES;
/** 64 KiB arrays: under V8's large-object size, so they live, and are copied, in the young generation. */
const FILLER_ELEMENTS = 8192;

export type Sizing = 'held' | 'left to the user' | 'left to V8';

let done: Sizing | undefined;

/**
 * Holds the young generation at YOUNG_GENERATION_BYTES, once per process. Left alone when Node's
 * options already size the heap (the user chose), or when this V8 reports no new space.
 */
export function holdYoungGeneration(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): Sizing {
  if (done !== undefined) return done;
  if (/semi[-_]space|max[-_]heap[-_]size|single[-_]generation/.test([...execArgv, nodeOptions].join(' '))) return (done = 'left to the user');
  const { getHeapSpaceStatistics, setFlagsFromString } = lazy.v8();
  const newSpace = (): number | undefined => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size;
  if (newSpace() === undefined) return (done = 'left to V8');
  // V8 grows the young generation when more than its size survived since it last grew.
  const filler: unknown[] = [];
  for (let bytes = 0; newSpace()! < YOUNG_GENERATION_BYTES && bytes < MAX_FILLER_BYTES; bytes += FILLER_ELEMENTS * 8) {
    filler.push(new Array(FILLER_ELEMENTS).fill(0));
  }
  setFlagsFromString('--semi-space-growth-factor=1');
  return (done = 'held');
}
