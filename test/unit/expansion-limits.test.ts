import { describe, expect, it } from 'vitest';
import { compileText } from '../helpers/compile.js';
import { LIMITS } from '../../src/normalize/budget.js';

/** `n` IPv4 host addresses, none adjacent to another (so merging keeps every one). */
const hosts = (n: number, first = 0): string[] => Array.from({ length: n }, (_, k) => k + first).map((i) => `10.${(i >> 15) & 255}.${(i >> 7) & 255}.${(i & 127) * 2}`);

/** Compiles and times it: a refusal must come before the work it refuses. */
function timed(text: string) {
  const t = performance.now();
  const r = compileText(text);
  return { ...r, ms: performance.now() - t };
}

/** The line (1-based) of the first line of `text` that contains `needle`, after `from` lines. */
const lineOf = (text: string, needle: string, from = 0): number => text.split('\n').findIndex((l, i) => i >= from && l.includes(needle)) + 1;

// Each policy below is a few hundred kilobytes that would expand to gigabytes; each is refused
// with the limit, at the reference that went over it, long before the work is done. A loaded
// CI machine gets 2 s for what takes about 0.1-0.3 s here; unbounded, each took minutes or ran
// out of memory.
const QUICK_MS = 2000;

describe('expansion limits', () => {
  it('refuses a variable that puts more than 32 MiB into the policy, at the reference that went over', () => {
    // 3,000 addresses (39 KB) in one variable, used as a list in 1,000 rules: 39 MB as written out.
    const rules = Array.from({ length: 1000 }, (_, i) => `  - { name: r${i}, port: ${1000 + i}, from: "\${big}" }`);
    const text = `version: 1\nvariables:\n  big: [${hosts(3000).join(', ')}]\ninbound:\n${rules.join('\n')}\n`;
    const r = timed(text);
    expect(r.artifacts).toBeUndefined();
    const limit = r.diagnostics.filter((d) => d.code === 'expansion-limit');
    expect(limit).toHaveLength(1);
    expect(limit[0]!.message).toContain('more than 32 MiB');
    expect(limit[0]!.message).toContain('under `addresses:`');
    // 32 MiB / about 39,000 bytes per reference (3,000 addresses of about 13 bytes written out):
    // the 851st reference goes over.
    const rule = Number(/r(\d+)/.exec(text.split('\n')[limit[0]!.line - 1]!)![1]);
    expect(rule).toBeGreaterThan(800);
    expect(rule).toBeLessThan(900);
    expect(limit[0]!.col).toBe(text.split('\n')[limit[0]!.line - 1]!.indexOf('"${big}"') + 1);
    expect(r.ms).toBeLessThan(QUICK_MS);
  });

  it('the same list named once under `addresses:` compiles, and is one ipset for every rule', () => {
    const rules = Array.from({ length: 1000 }, (_, i) => `  - { name: r${i}, port: ${1000 + i}, from: big }`);
    const r = compileText(`version: 1\naddresses:\n  big: [${hosts(3000).join(', ')}]\ninbound:\n${rules.join('\n')}\n`);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const sets = r.files.ipsets!.split('\n').filter((l) => l.startsWith('create '));
    expect(sets).toEqual([expect.stringMatching(/^create ipf-in-1-src-4-new hash:net family inet /)]);
    expect(r.files.ipsets!.split('\n').filter((l) => l.startsWith('add ')).length).toBe(3000);
    // Every rule matches that one set.
    const matches = r.files['rules.v4']!.split('\n').filter((l) => l.includes('--match-set'));
    expect(matches).toHaveLength(1000);
    expect(matches.every((l) => l.includes('--match-set ipf-in-1-src-4 src'))).toBe(true);
  });

  it('writes identical lists of different rules and sections once, and different ones apart', () => {
    const a = hosts(40);
    const b = hosts(40, 1000);
    const text = `version: 1\ninbound:\n  - { name: one, port: 80, from: [${a.join(', ')}] }\n  - { name: two, port: 81, from: [${a.join(', ')}] }\n  - { name: three, port: 82, from: [${b.join(', ')}] }\noutbound:\n  - { name: four, port: 83, to: [${[...a].reverse().join(', ')}] }\n`;
    const r = compileText(text);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.files.ipsets!.split('\n').filter((l) => l.startsWith('create ')).map((l) => l.split(' ')[1])).toEqual(['ipf-in-1-src-4-new', 'ipf-in-3-src-4-new']);
    const v4 = r.files['rules.v4']!;
    expect(v4).toMatch(/--dport 80 .*--match-set ipf-in-1-src-4 src|--match-set ipf-in-1-src-4 src.*--dport 80 /);
    expect(v4).toMatch(/--match-set ipf-in-1-src-4 src.*--dport 81 /);
    expect(v4).toMatch(/--match-set ipf-in-3-src-4 src.*--dport 82 /);
    // The outbound list is the same addresses (in another order): the same set, matched by destination.
    expect(v4).toMatch(/--match-set ipf-in-1-src-4 dst.*--dport 83 /);
  });

  it('refuses a rule whose product of sources, destinations and ports passes 1,000,000 rules, at the rule, before making them', () => {
    // 5,000 sources times 5,000 destinations, as rules (no sets): 25 million rules from 75 KB.
    const text = `version: 1\ndefaults: { set-threshold: 0 }\naddresses:\n  many: [${hosts(5000).join(', ')}]\noutbound:\n  - { name: fine, port: 443, to: [192.0.2.1] }\nforward:\n  - { name: mesh, port: 443, from: many, to: many }\n`;
    const r = timed(text);
    expect(r.artifacts).toBeUndefined();
    expect(r.report).toContain(`policy.yaml:${lineOf(text, 'name: mesh')}:5: error: this expands the policy past 1,000,000 rules`);
    expect(r.report).toContain('here it would reach 25,000,001');
    expect(r.report).toContain('set-threshold');
    expect(r.ms).toBeLessThan(QUICK_MS);
  });

  it('counts rules across rules: the rule that goes over is the one named', () => {
    // 40 sources x 200 port groups (3,000 ports in 15s) x 3 protocols = 24,000 rules each; 42 of them pass 1,000,000.
    // The 41 rules before it are made (a million rules: about 1.5 s here), so the bound is looser.
    const ports = Array.from({ length: 3000 }, (_, i) => 2 * i + 1);
    const rules = Array.from({ length: 60 }, (_, i) => `  - { name: r${i}, proto: [tcp, udp, sctp], port: "\${p}", from: forty, action: drop }`);
    const text = `version: 1\ndefaults: { order: as-written, set-threshold: 0 }\nvariables:\n  p: [${ports.join(', ')}]\naddresses:\n  forty: [${hosts(40).join(', ')}]\ninbound:\n${rules.join('\n')}\n`;
    const r = timed(text);
    expect(r.artifacts).toBeUndefined();
    expect(r.report).toContain(`policy.yaml:${lineOf(text, 'name: r41,')}:5: error: this expands the policy past 1,000,000 rules`);
    expect(r.ms).toBeLessThan(5 * QUICK_MS);
  });

  it('refuses address sets of sets that read more than 10,000,000 addresses, at the name that went over', () => {
    // a1 names a0 (1,000 addresses) 12,000 times: 12 million addresses to merge, from 60 KB.
    const text = `version: 1\naddresses:\n  a0: [${hosts(1000).join(', ')}]\n  a1: [${Array.from({ length: 12000 }, () => 'a0').join(', ')}]\ninbound:\n  - { name: web, port: 80, from: a1 }\n`;
    const r = timed(text);
    expect(r.artifacts).toBeUndefined();
    const d = r.diagnostics.find((x) => x.code === 'expansion-limit')!;
    expect(d.message).toContain('past 10,000,000 addresses read through address lists and set names');
    // After a0's own 1,000 addresses, the 10,000th name of a0 (index 9,999) reaches 10,001,000.
    const line = text.split('\n')[d.line - 1]!;
    expect(line.startsWith('  a1:')).toBe(true);
    expect(d.col).toBe('  a1: ['.length + 4 * 9999 + 1);
    expect(r.ms).toBeLessThan(QUICK_MS);
  });

  it('refuses distinct sets with more than 1,000,000 entries in all, at the list that went over', () => {
    // 50,000 addresses plus one of each rule's own: 21 distinct lists of 50,001 pass 1,000,000.
    const rules = Array.from({ length: 25 }, (_, i) => `  - { name: r${i}, port: ${1000 + i}, from: [big, 192.0.2.${i + 1}] }`);
    const text = `version: 1\naddresses:\n  big: [${hosts(50000).join(', ')}]\ninbound:\n${rules.join('\n')}\n`;
    const r = compileText(text);
    expect(r.artifacts).toBeUndefined();
    const line = lineOf(text, 'name: r19,');
    expect(r.report).toContain(`policy.yaml:${line}:${text.split('\n')[line - 1]!.indexOf('[big') + 1}: error: this expands the policy past 1,000,000 address set entries`);
  });

  it('leaves the limits far above what the benchmark policies reach', () => {
    // The reasons given in budget.ts and policy.md rest on these numbers.
    expect(LIMITS.rules).toBeGreaterThanOrEqual(5 * 183_368);
    expect(LIMITS.setEntries).toBeGreaterThanOrEqual(1_000_000);
  });
});
