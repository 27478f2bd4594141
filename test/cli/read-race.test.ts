import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCheckoutFile } from '../../src/cli/read.js';

const SECRET = 'SECRET-TOKEN-race-4f2a';
const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('the reader against a folder swapped for a link while it reads', () => {
  it('returns the file inside or refuses; never what the link points at', async () => {
    const top = mkdtempSync(join(tmpdir(), 'ipfence-race-'));
    made.push(top);
    const repo = join(top, 'repo');
    const outside = join(top, 'outside');
    mkdirSync(join(repo, 'd'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(repo, 'd', 'p.yaml'), 'version: 1\n');
    writeFileSync(join(outside, 'p.yaml'), `${SECRET}\n`);
    symlinkSync(outside, join(repo, 'link'));
    // Another process swaps d (the folder) and link (to outside) back and forth, as fast as it can.
    const swapper = spawn(process.execPath, ['-e', `
      const { renameSync } = require('node:fs');
      const at = (n) => ${JSON.stringify(repo)} + '/' + n;
      const end = Date.now() + 1500;
      while (Date.now() < end) {
        renameSync(at('d'), at('real')); renameSync(at('link'), at('d'));
        renameSync(at('d'), at('link')); renameSync(at('real'), at('d'));
      }
    `]);
    const done = new Promise((resolve) => swapper.on('exit', resolve));
    const seen = { read: 0, refused: 0 };
    let running = true;
    void done.then(() => (running = false));
    while (running) {
      let text: string;
      try {
        text = Buffer.from((await readCheckoutFile('d/p.yaml', { maxBytes: 1000 }, repo)).bytes).toString('utf8');
        seen.read++;
      } catch (e) {
        // Refused (a link on the way, changed while opened) or gone between two renames.
        text = (e as Error).message;
        seen.refused++;
      }
      expect(text).not.toContain(SECRET);
    }
    // Both outcomes happened: the swap really raced the reads.
    expect(seen.read).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });
});
