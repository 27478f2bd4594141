import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main, type IO } from '../../src/cli/main.js';
import { readCheckoutFile, readLimited } from '../../src/cli/read.js';

/** An in-memory IO for main(): stdin text, captured stdout/stderr, files read from disk as the CLI reads them (inside overrides.cwd when given: a test's own checkout). */
export function memoryIO(stdin: string | Uint8Array = '', overrides: Partial<IO> = {}) {
  const out = { stdout: '', stderr: '' };
  const bytes = typeof stdin === 'string' ? Buffer.from(stdin, 'utf8') : stdin;
  const io: IO = {
    stdout: (s) => void (out.stdout += s),
    stderr: (s) => void (out.stderr += s),
    readStdin: async (maxBytes) => readLimited([bytes], maxBytes),
    readFile: (p, limits) => readCheckoutFile(p, limits, overrides.cwd),
    colorStdout: false,
    colorStderr: false,
    ...overrides,
  };
  return { io, out };
}

/**
 * A new folder inside the working directory (.tmp/, ignored by git): ipfence reads only files of
 * the checkout it runs in (src/cli/read.ts), so a test's files live inside it, as a CI job's do.
 */
export function checkoutTmp(prefix: string): string {
  mkdirSync('.tmp', { recursive: true });
  return mkdtempSync(join(process.cwd(), '.tmp', prefix));
}

/** A new folder of the checkout (checkoutTmp) and `write(name, text)` into it, returning the file's path. */
export function checkoutFiles(prefix: string): { dir: string; write: (name: string, text: string) => string } {
  const dir = checkoutTmp(prefix);
  const write = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  return { dir, write };
}

/** main(argv) with an in-memory IO: its exit code and what it printed. */
export async function runMain(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { io, out } = memoryIO();
  const code = await main(argv, io);
  return { code, ...out };
}
