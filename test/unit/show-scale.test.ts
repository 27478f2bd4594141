import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';
import { modelsOf, TABLES_AT, type Hook } from '../../src/packet/path.js';
import { reachable } from '../../src/analysis/reach.js';
import { DIM, everything, STATES, subtractBox, type Box, copyBox } from '../../src/packet/space.js';
import { describeBox } from '../../src/analysis/describe.js';
import { addressText } from '../../src/values/addresses.js';
import { subtract as subtractSet } from '../../src/values/intervals.js';
import { cpuTime, leastCpuTime } from '../helpers/cpu.js';
// @ts-expect-error plain JS generator
import { operatorPolicy } from '../../bench/generate.mjs';

const irOf = (text: string) => {
  const r = compile(text, 'p.yaml', 'p.yaml', { emit: false });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.ir;
};
/** What show does for a policy: every family's paths, and every row said in words; the rows' count. */
function showRows(ir: ReturnType<typeof irOf>, limit?: number): number {
  let rows = 0;
  for (const m of modelsOf(ir)) {
    for (const d of ['in', 'out', 'forward'] as const) {
      const r = reachable(m, d);
      for (const x of r.rows) describeBox(m.family, x.box, r.start, limit);
      rows += r.rows.length;
    }
  }
  return rows;
}
const minus = (as: readonly Box[], bs: readonly Box[]): Box[] => bs.reduce<Box[]>((parts, b) => parts.flatMap((p) => subtractBox(p, b)), [...as]);

describe('show on large policies', () => {
  it("the bench's operator policy at 8,000 entries costs about 4 times 2,000, not 12 (it took minutes at 10,000)", () => {
    // The rows of a port allowlisted for one host ("rejected: any except that host and every
    // banned host") each hold thousands of addresses. Keyed as text to be joined, and made a
    // second time as "the rest" to be said, they made show quadratic: 55 s at 10,000 entries,
    // 12x the time for 4x the entries. Before that, the outbound path alone was cubic.
    const cpu = (n: number): { ms: number; rows: number } => {
      const ir = irOf(operatorPolicy(n));
      const { ms, value: rows } = cpuTime(() => showRows(ir, 8));
      return { ms, rows };
    };
    cpu(500);
    const small = cpu(2000);
    const large = cpu(8000);
    expect(large.rows).toBeGreaterThan(3.9 * small.rows);
    expect(large.ms / small.ms).toBeLessThan(7);
  }, 300_000);

  it('asking rules of one verdict together finds exactly the connections asking each alone does', () => {
    const policies = [
      ...readdirSync('examples').filter((f) => f.endsWith('.yaml')).map((f) => readFileSync(`examples/${f}`, 'utf8')),
      operatorPolicy(120),
    ];
    for (const text of policies) {
      for (const m of modelsOf(irOf(text))) {
        for (const d of ['in', 'out', 'forward'] as const) {
          const together = reachable(m, d);
          const alone = reachable(m, d, false);
          expect(together.fallback).toBe(alone.fallback);
          for (const v of ['accept', 'drop', 'reject']) {
            const a = together.rows.filter((r) => r.verdict === v).map((r) => r.box);
            const b = alone.rows.filter((r) => r.verdict === v).map((r) => r.box);
            expect(minus(a, b)).toEqual([]);
            expect(minus(b, a)).toEqual([]);
          }
        }
      }
    }
  }, 300_000);
});

/**
 * Users blocked from opening connections but to one host each, and hosts no one may reach: a
 * policy whose show grows as it does (a row or two per user and per host), so its time may too.
 */
function usersPolicy(n: number): string {
  const v4 = (a: string, i: number) => `${a}.${(i >> 8) & 255}.${i & 255}`;
  const lines = ['version: 1', 'defaults: { input: drop, output: accept }', 'inbound:', '  - { name: ssh, port: 22 }', 'users:'];
  for (let i = 0; i < n; i++) lines.push(`  - { name: u-${i}, user: ${3000 + i}, outbound: reject, except: [{ to: [${v4('10.2', i)}, "2001:db8:d:${i.toString(16)}::1"], port: ${1024 + i} }] }`);
  return `${lines.join('\n')}\n`;
}

/** CPU time of what show does for a policy: every family's paths, and every row said in words. */
function showTime(text: string, runs = 1): { ms: number; rows: number } {
  const ir = irOf(text);
  const { ms, value: rows } = leastCpuTime(runs, () => showRows(ir));
  return { ms, rows };
}

describe('show grows as its answer does', () => {
  it('16 times the users takes about 16 times as long, not 50 (each question walked past every user\'s jump, splitting at each)', () => {
    // Warm up the code paths first, so the small run is not paying for compilation.
    showTime(usersPolicy(100));
    // The least of a few runs each: a busy machine (a CI's neighbours) only ever adds time.
    const small = showTime(usersPolicy(200), 3);
    const large = showTime(usersPolicy(3200), 2);
    expect(large.rows).toBeGreaterThan(15 * small.rows);
    // Linear is 16 (a little less here: the small run has its fixed costs); the walk past each
    // jump gave about 13 at 8 times the users and 57 at 16.
    expect(large.ms / small.ms).toBeLessThan(25);
  }, 120_000);

  it('outbound denies are asked together: 8 times the users and denies, about 8 times as long, not 64', () => {
    // Asked one by one, each deny's connections (any user) met every user's jump, and each user's
    // chain was walked to learn that it rejects them all: users x denies walks (26 of the 55 s
    // `show` took at 10,000 entries). They differ in one dimension, but their original
    // destination (a connection nat did not translate) made it two, so they were never joined.
    const policy = (n: number): string => {
      const v4 = (a: string, i: number) => `${a}.${(i >> 8) & 255}.${i & 255}`;
      const lines = [usersPolicy(n).trimEnd(), 'outbound:'];
      for (let i = 0; i < n; i++) lines.push(`  - { name: deny-${i}, to: [${v4('100.64', i)}, "2001:db8:c:${i.toString(16)}::1"], action: reject }`);
      return `${lines.join('\n')}\n`;
    };
    const outTime = (text: string): { ms: number; rows: number } => {
      const models = modelsOf(irOf(text));
      const { ms, value: rows } = cpuTime(() => models.reduce((n, m) => n + reachable(m, 'out').rows.length, 0));
      return { ms, rows };
    };
    outTime(policy(100));
    const small = outTime(policy(200));
    const large = outTime(policy(1600));
    expect(large.rows).toBeGreaterThan(7 * small.rows);
    expect(large.ms / small.ms).toBeLessThan(24);
  }, 120_000);

  it('saying "any except" thousands of IPv6 hosts costs about what writing their addresses does', () => {
    // Hosts a /64 apart: each gap between two is about a hundred CIDR blocks, which the text
    // never lists (the hosts are the shorter side), and listing them was most of show's time.
    const hosts = Array.from({ length: 4000 }, (_, i) => (0x20010db8000b0000n + BigInt(i)) << 64n | 1n);
    // With the first address left out too, the set and the rest have as many intervals: the
    // text then tried the set's own side (the gaps) first, in full.
    const box = copyBox(everything('ipv6'));
    box[DIM.src] = subtractSet(everything('ipv6')[DIM.src], [[0n, 0n], ...hosts.map((h) => [h, h] as const)]);
    const describing = leastCpuTime(3, () => describeBox('ipv6', box).from!);
    const writing = leastCpuTime(3, () => [0n, ...hosts].map((h) => addressText('ipv6', h)).join(', '));
    expect(describing.value).toBe(`any except ${writing.value}`);
    // A few times here; listing the gaps' blocks, bit by bit, made it about 50.
    expect(describing.ms / writing.ms).toBeLessThan(20);
  });

  it('a row of jumps walked by value decides exactly what walking past each jump in turn does, in the same order', () => {
    // A walk with a trace (explain's) goes jump by jump: the definition the batch is held to.
    const policies = [usersPolicy(12), operatorPolicy(240), ...readdirSync('examples').filter((f) => f.endsWith('.yaml')).map((f) => readFileSync(`examples/${f}`, 'utf8'))];
    let batched = 0;
    for (const text of policies) {
      for (const m of modelsOf(irOf(text))) {
        const u = everything(m.family);
        const fresh = copyBox(u);
        fresh[DIM.state] = [[BigInt(STATES.indexOf('NEW')), BigInt(STATES.indexOf('NEW'))]];
        // Some queries are partly outside the jumps' states: those parts must still go one by one.
        const users = copyBox(u);
        users[DIM.uid] = [[3000n, 3005n], [3008n, 3008n]];
        for (const q of [u, fresh, users]) {
          for (const hook of Object.keys(TABLES_AT) as Hook[]) {
            for (const table of TABLES_AT[hook]) {
              const fast = m.decide(table, hook, q);
              const slow = m.decide(table, hook, q, () => {});
              expect(fast).toEqual(slow);
              if (text.includes('u-11')) batched += fast.length;
            }
          }
        }
      }
    }
    expect(batched).toBeGreaterThan(20);
  }, 120_000);

  it('lists a long except list shared by many rules (its RETURNs came back host by host, past the walk bound)', () => {
    // 1,000 scattered hosts excepted from 60 rejects: each rule's chain returned a part per
    // host, 60,000 parts, and show said it "cannot list this policy exactly".
    const hosts = Array.from({ length: 1000 }, (_, i) => `    - 10.0.${i >> 7}.${((i & 127) << 1) + 1}`);
    const rules = Array.from({ length: 60 }, (_, r) => `  - { name: r${r}, port: ${2000 + r}, action: reject, except: big }`);
    const ir = irOf(['version: 1', 'defaults: { input: drop, order: as-written }', 'addresses:', '  big:', ...hosts, 'inbound:', ...rules, '  - { name: open, port: 2000-3000 }', ''].join('\n'));
    const v4 = modelsOf(ir).find((m) => m.family === 'ipv4')!;
    const rows = reachable(v4, 'in').rows.map((r) => ({ verdict: r.verdict, ...describeBox('ipv4', r.box) }));
    expect(rows.filter((r) => r.verdict === 'reject').map((r) => r.ports)).toEqual(['2000-2059']);
    expect(rows.find((r) => r.verdict === 'reject')!.from).toMatch(/^any except 10\.0\.0\.1, 10\.0\.0\.3, /);
    expect(rows.filter((r) => r.verdict === 'accept').map((r) => r.ports).sort()).toEqual(['2000-2059', '2060-3000']);
  });
});
