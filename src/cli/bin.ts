import { main } from './main.js';
import { readLimited, readRegularFile } from './read.js';
import { holdYoungGeneration, LARGE_POLICY_BYTES } from './young-generation.js';

async function readStdin(maxBytes: number): Promise<Uint8Array> {
  return sized(await readLimited(process.stdin, maxBytes));
}

/** The bytes read, after fitting the heap to them: a large policy's compile keeps most of what it makes. */
function sized(bytes: Uint8Array): Uint8Array {
  if (bytes.length >= LARGE_POLICY_BYTES) holdYoungGeneration();
  return bytes;
}

const color = (s: NodeJS.WriteStream): boolean => Boolean(s.isTTY) && !process.env.NO_COLOR;

// No top-level await: the bundle is CommonJS (scripts/bundle.mjs).
void main(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  readStdin,
  readFile: async (p, limits) => sized(await readRegularFile(p, limits)),
  colorStdout: color(process.stdout),
  colorStderr: color(process.stderr),
}).then((code) => {
  process.exitCode = code;
});
