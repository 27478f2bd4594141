import type { IO } from '../../src/cli/main.js';
import { readLimited, readRegularFile } from '../../src/cli/read.js';

/** An in-memory IO for main(): stdin text, captured stdout/stderr, files read from disk as the CLI reads them. */
export function memoryIO(stdin: string | Uint8Array = '', overrides: Partial<IO> = {}) {
  const out = { stdout: '', stderr: '' };
  const bytes = typeof stdin === 'string' ? Buffer.from(stdin, 'utf8') : stdin;
  const io: IO = {
    stdout: (s) => void (out.stdout += s),
    stderr: (s) => void (out.stderr += s),
    readStdin: async (maxBytes) => readLimited([bytes], maxBytes),
    readFile: (p, limits) => readRegularFile(p, limits),
    colorStdout: false,
    colorStderr: false,
    ...overrides,
  };
  return { io, out };
}
