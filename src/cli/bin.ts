import { main } from './main.js';
import { readCheckoutFile, readLimited } from './read.js';

const color = (s: NodeJS.WriteStream): boolean => Boolean(s.isTTY) && !process.env.NO_COLOR;

// No top-level await: the bundle is CommonJS (scripts/bundle.mjs).
void main(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  readStdin: (maxBytes) => readLimited(process.stdin, maxBytes),
  readFile: (p, limits) => readCheckoutFile(p, limits),
  colorStdout: color(process.stdout),
  colorStderr: color(process.stderr),
}).then((code) => {
  process.exitCode = code;
});
