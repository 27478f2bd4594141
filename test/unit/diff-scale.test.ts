import { describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';
import { changedPackets, DiffTooLarge } from '../../src/analysis/diff.js';
import { diffRows } from '../../src/cli/diff.js';
import { align } from '../../src/analysis/diff.js';
import { cpuTime } from '../helpers/cpu.js';
// @ts-expect-error: the benchmark's generators are plain JavaScript
import { ipfencePolicy, operatorPolicy } from '../../bench/generate.mjs';

const irOf = (text: string, file: string) => {
  const r = compile(text, file, file, { emit: false });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.ir;
};

/** The benchmark's policy of `n` rules, and the same with every rule's port moved up by one. */
function everyRuleChanged(n: number) {
  const before: string = ipfencePolicy(n);
  const after = before.replace(/port: (\d+), from/g, (_, p: string) => `port: ${Number(p) + 1}, from`);
  return { before: irOf(before, 'a.yaml'), after: irOf(after, 'b.yaml') };
}

/** The least of two runs of diff's computation (the changes and their rows), in ms. */
function diffTime(n: number): { ms: number; rows: number } {
  const { before, after } = everyRuleChanged(n);
  let ms = Infinity;
  let rows = 0;
  for (let k = 0; k < 2; k++) {
    const t = performance.now();
    rows = diffRows(changedPackets(before, after)).length;
    ms = Math.min(ms, performance.now() - t);
  }
  return { ms, rows };
}

describe('diff of a change to every rule', () => {
  it('takes time about linear in the rules: 4x the rules cost less than 8x the time', () => {
    diffTime(200); // warm the engine: the first run pays for compiling the code
    const small = diffTime(1000);
    const large = diffTime(4000);
    // Each rule's move is three rows (its new port allowed, its old one now dropped, in both families as one row each way).
    expect(small.rows).toBe(3000);
    expect(large.rows).toBe(12000);
    // Quadratic (as it was: 2,000 rules 13 s, 8,000 179 s) makes this 16x; linear, 4x.
    expect(large.ms / small.ms).toBeLessThan(8);
  }, 600_000);
});

/**
 * n users each blocked from opening connections but to one host, and n outbound denies of one
 * host each; `tcpOnly`: every deny narrowed to tcp, a change of every deny.
 */
function usersAndDenies(n: number, tcpOnly: boolean): string {
  const lines = ['version: 1', 'users:'];
  for (let i = 0; i < n; i++) lines.push(`  - { name: user-${i}, user: ${2000 + i}, outbound: reject, except: [{ to: 10.2.${i >> 8}.${i & 255}, port: 443 }] }`);
  lines.push('outbound:');
  for (let i = 0; i < n; i++) lines.push(`  - { name: deny-${i}, to: 100.64.${i >> 8}.${i & 255}, action: reject${tcpOnly ? ', proto: tcp' : ''} }`);
  return `${lines.join('\n')}\n`;
}

describe('diff of a change to every outbound deny, under many users', () => {
  /** The least CPU time of three runs of diff's computation, and its rows. */
  const cost = (n: number): { ms: number; rows: string[] } => {
    const before = irOf(usersAndDenies(n, false), 'a.yaml');
    const after = irOf(usersAndDenies(n, true), 'b.yaml');
    let ms = Infinity;
    let rows: string[] = [];
    for (let k = 0; k < 3; k++) {
      const run = cpuTime(() => diffRows(changedPackets(before, after)).map((r) => `${r.change}: ${r.traffic}, ${r.direction}`));
      rows = run.value;
      ms = Math.min(ms, run.ms);
    }
    return { ms, rows };
  };

  it('grows about linearly: 4x the users and denies cost less than 8x the time', () => {
    cost(20); // warm the engine
    const small = cost(100);
    const large = cost(400);
    // Every deny's other protocols are now allowed, except to the users it blocks (who are still refused).
    expect(large.rows).toEqual([
      'now allowed: any except tcp to 100.64.0.0/24, 100.64.1.0/25, 100.64.1.128/28 out any except lo user any except 2000-2399 (state NEW,UNTRACKED), out',
      'now allowed: any except tcp to 100.64.0.0/24, 100.64.1.0/25, 100.64.1.128/28 out any except lo (state INVALID), out',
    ]);
    // Each deny's host was followed on its own and split by every user's rule, and the pieces of
    // both policies compared pairwise: 100 -> 400 cost 19x (1.5 s -> 27 s). Joined, and the
    // pieces that read the same dropped before pairing: about 2x.
    expect(large.ms / small.ms).toBeLessThan(8);
  }, 600_000);
});

describe("diff of a change to every rule of the bench's operator policy", () => {
  /** Every port of the policy moved up by one: allowlists, limits, redirects, users' exceptions, forwards, marks. */
  const cost = (n: number): { ms: number; changes: number } => {
    const text: string = operatorPolicy(n);
    const before = irOf(text, 'a.yaml');
    const after = irOf(text.replace(/port: (\d+)/g, (_, p: string) => `port: ${Number(p) + 1}`), 'b.yaml');
    const { ms, value: changes } = cpuTime(() => changedPackets(before, after).length);
    return { ms, changes };
  };

  it('takes time about linear in the entries: 4x the entries cost less than 6x the time', () => {
    // Every kind of rule's ports were one walk, which each allowlisted host cut into a piece
    // holding all the other ports on both sides, and pairing them was quadratic: 2,000 entries
    // passed the limit of 100,000 pieces after 11 s. A PREROUTING redirect's connections were
    // followed out of the host too, and each mark's, each past every user's chain.
    cost(100); // warm the engine
    const small = cost(500);
    const large = cost(2000);
    expect(large.changes).toBeGreaterThan(3.9 * small.changes);
    expect(large.ms / small.ms).toBeLessThan(6);
  }, 600_000);
});

describe('diff past its limits', () => {
  it('stops with what went over instead of running on', () => {
    const before = irOf(usersAndDenies(30, false), 'a.yaml');
    const after = irOf(usersAndDenies(30, true), 'b.yaml');
    expect(changedPackets(before, after).length).toBeGreaterThan(0);
    expect(() => changedPackets(before, after, { followed: 10, changed: 100_000 })).toThrow(new DiffTooLarge('the packets it touches split into more than 10 pieces along their paths'));
    expect(() => changedPackets(before, after, { followed: 500_000, changed: 1 })).toThrow(new DiffTooLarge('the packets that change verdict split into more than 1 pieces in one direction'));
  });
});

describe('align', () => {
  const run = (a: string, b: string) => align([...a], [...b]).map((p) => `${p.added ? '+' : p.removed ? '-' : '='}${p.count}`).join(' ');

  it('keeps common ends, anchors on keys found once, and says the rest removed before added', () => {
    expect(run('abc', 'abc')).toBe('=3');
    expect(run('abc', 'abxc')).toBe('=2 +1 =1');
    expect(run('abc', 'ac')).toBe('=1 -1 =1');
    expect(run('abcd', 'axyd')).toBe('=1 -2 +2 =1');
    expect(run('', 'ab')).toBe('+2');
    expect(run('ab', '')).toBe('-2');
    // A moved rule: the longest run of keys in both orders stays, the moved one is removed and added.
    expect(run('abcde', 'bcdae')).toBe('-1 =3 +1 =1');
  });

  it('aligns what it keeps as equal, and accounts for every key of both sides', () => {
    const seqs = ['', 'a', 'ab', 'aab', 'abab', 'abcabc', 'xaybz', 'zzzz', 'abcdefg', 'gfedcba', 'aabbaabb'];
    for (const a of seqs) {
      for (const b of seqs) {
        let i = 0;
        let j = 0;
        for (const p of align([...a], [...b])) {
          if (!p.added && !p.removed) expect(a.slice(i, i + p.count)).toBe(b.slice(j, j + p.count));
          if (!p.added) i += p.count;
          if (!p.removed) j += p.count;
        }
        expect([i, j]).toEqual([a.length, b.length]);
      }
    }
  });
});
