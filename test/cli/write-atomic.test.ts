import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { writeAllAtomic } from '../../src/cli/write-atomic.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ipfence-write-'));

describe('writeAllAtomic with chunks', () => {
  it('writes exactly the concatenation of the chunks, across buffer flushes and chunks larger than the buffer', async () => {
    // Whole code points only (chunks are whole lines): ASCII, 2-, 3- and 4-byte UTF-8.
    const piece = fc.oneof(
      fc.constantFrom('-A INPUT -p tcp\n', 'é', '€', '😀', '\n'),
      fc.integer({ min: 1, max: 1_200_000 }).map((n) => 'x'.repeat(n)),
      fc.integer({ min: 1, max: 500_000 }).map((n) => '€'.repeat(n)),
    );
    let large = 0;
    let huge = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { minLength: 0, maxLength: 12 }), async (chunks) => {
        const dir = tmp();
        const content = chunks.join('');
        if (Buffer.byteLength(content) > 1 << 20) large++;
        if (chunks.some((c) => Buffer.byteLength(c) > 1 << 20)) huge++;
        await writeAllAtomic(dir, [{ file: 'rules.v4', content, chunks, executable: false }]);
        expect(readFileSync(join(dir, 'rules.v4'), 'utf8') === content).toBe(true);
        expect(readdirSync(dir)).toEqual(['rules.v4']);
        expect(statSync(join(dir, 'rules.v4')).mode & 0o777).toBe(0o644);
      }),
      { numRuns: 30 },
    );
    expect(large).toBeGreaterThan(5);
    expect(huge).toBeGreaterThan(5);
  });
});
