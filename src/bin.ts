import { readFile } from 'node:fs/promises';
import { main } from './cli/main.js';
import { holdYoungGeneration, LARGE_POLICY_BYTES } from './cli/young-generation.js';

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return sized(Buffer.concat(chunks));
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
  readFile: async (p) => sized(await readFile(p)),
  colorStdout: color(process.stdout),
  colorStderr: color(process.stderr),
}).then((code) => {
  process.exitCode = code;
});
