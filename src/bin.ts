import { readFile } from 'node:fs/promises';
import { main } from './cli/main.js';
import { holdYoungGeneration, LARGE_POLICY_CHARS } from './cli/young-generation.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return sized(Buffer.concat(chunks).toString('utf8'));
}

/** The text read, after fitting the heap to it: a large policy's compile keeps most of what it makes. */
function sized(text: string): string {
  if (text.length >= LARGE_POLICY_CHARS) holdYoungGeneration();
  return text;
}

const color = (s: NodeJS.WriteStream): boolean => Boolean(s.isTTY) && !process.env.NO_COLOR;

// No top-level await: the bundle is CommonJS (scripts/bundle.mjs).
void main(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  readStdin,
  readFile: async (p) => sized(await readFile(p, 'utf8')),
  colorStdout: color(process.stdout),
  colorStderr: color(process.stderr),
}).then((code) => {
  process.exitCode = code;
});
