import { readFileSync } from 'node:fs';
import type { IO } from '../../src/cli/main.js';

/** An in-memory IO for main(): stdin text, captured stdout/stderr, files read from disk. */
export function memoryIO(stdin = '', overrides: Partial<IO> = {}) {
  const out = { stdout: '', stderr: '' };
  const io: IO = {
    stdout: (s) => void (out.stdout += s),
    stderr: (s) => void (out.stderr += s),
    readStdin: async () => Buffer.from(stdin, 'utf8'),
    readFile: async (p) => readFileSync(p),
    colorStdout: false,
    colorStderr: false,
    ...overrides,
  };
  return { io, out };
}
