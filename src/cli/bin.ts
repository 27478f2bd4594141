import { main } from './main.js';
import { readCheckoutFile, readLimited } from './read.js';

const color = (s: NodeJS.WriteStream): boolean => Boolean(s.isTTY) && !process.env.NO_COLOR;

/** Why writing to stdout or stderr failed, other than its reader going away; reported at the end. */
let writeFailure: { stream: string; why: string } | undefined;

/**
 * A standard stream as the CLI writes it. A reader that stops early (`| head`) is not an error:
 * the rest of the output is dropped, quietly, and the run ends with the status it would have had,
 * so `set -o pipefail` still sees a failed check. Any other write error (a full disk under `>
 * file`) is said once at the end, and the run exits 2. Node ignores SIGPIPE, so without a
 * listener EPIPE arrives as an unhandled 'error' event: a stack trace.
 */
function writer(stream: NodeJS.WriteStream, name: string): (s: string) => void {
  let closed = false;
  stream.on('error', (e: NodeJS.ErrnoException) => {
    closed = true;
    if (e.code !== 'EPIPE') writeFailure ??= { stream: name, why: e.code ?? e.message };
  });
  return (s) => {
    if (!closed) stream.write(s);
  };
}

// No top-level await: the bundle is CommonJS (scripts/bundle.mjs).
void main(process.argv.slice(2), {
  stdout: writer(process.stdout, 'standard output'),
  stderr: writer(process.stderr, 'standard error'),
  readStdin: (maxBytes) => readLimited(process.stdin, maxBytes),
  readFile: (p, limits) => readCheckoutFile(p, limits),
  colorStdout: color(process.stdout),
  colorStderr: color(process.stderr),
}).then((code) => {
  process.exitCode = code;
  // The error event of a failed write comes a tick after the write.
  setImmediate(() => {
    if (!writeFailure) return;
    if (writeFailure.stream !== 'standard error') process.stderr.write(`ipfence: cannot write to ${writeFailure.stream}: ${writeFailure.why}\n`);
    process.exitCode = 2;
  });
});
