import { describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';

/**
 * Near-duplicate rules: 14 inbound rules of one port list, given once through a `${name}`
 * variable (a small policy that expands to thousands of rules). Every rule after the first is
 * redundant, so `shadowed` finds 13 warnings whatever the list's length.
 */
export function sharedPortList(ports: number): string {
  const list = Array.from({ length: ports }, (_, i) => 2000 + 3 * i);
  const lines = ['version: 1', 'defaults: { input: drop }', 'variables:', `  ports: [${list.join(', ')}]`, 'inbound:', '  - { name: ssh, port: 22 }'];
  for (let r = 0; r < 14; r++) lines.push(`  - { name: r${r}, port: "\${ports}" }`);
  return `${lines.join('\n')}\n`;
}

/** The least of two compiles (through the checks, without writing), in ms, and its findings. */
function checkTime(text: string): { ms: number; codes: string[] } {
  let ms = Infinity;
  let codes: string[] = [];
  for (let k = 0; k < 2; k++) {
    const t = performance.now();
    const r = compile(text, 'p.yaml', 'p.yaml', { emit: false });
    ms = Math.min(ms, performance.now() - t);
    codes = r.diagnostics.map((d) => `${d.code} ${d.severity} ${d.line}`);
  }
  return { ms, codes };
}

describe("the checks' work on near-duplicate rules", () => {
  it('grows about linearly with the port list: 4x the ports cost less than 8x the time', () => {
    checkTime(sharedPortList(40)); // warm the engine: the first run pays for compiling the code
    const small = checkTime(sharedPortList(150));
    const large = checkTime(sharedPortList(600));
    const redundant = Array.from({ length: 13 }, (_, r) => `shadowed warning ${8 + r}`);
    expect(small.codes.filter((c) => c.startsWith('shadowed'))).toEqual(redundant);
    expect(large.codes).toEqual(small.codes);
    // Each rule's chunks joined one run with the earlier rules', and each was compared with the
    // whole run, whose box without the rule's own members was rebuilt from every member: cubic
    // (1,000 ports took minutes; 150 to 600 was 2.1 s to 45 s, 22x, on 2 loaded cores, and is
    // 0.4 s to 1.0 s now). Linear is 4x.
    expect(large.ms / small.ms).toBeLessThan(8);
  }, 300_000);
});

describe('findings about many duplicates', () => {
  it('name one earlier rule each, not every other copy (2,000 copies wrote 470 MB)', () => {
    const lines = ['version: 1', 'defaults: { input: drop }', 'inbound:', '  - { name: ssh, port: 22 }'];
    for (let i = 0; i < 300; i++) lines.push(`  - { name: d${i}, port: 80 }`);
    const found = compile(`${lines.join('\n')}\n`, 'p.yaml', 'p.yaml', { emit: false }).diagnostics.filter((d) => d.code === 'shadowed');
    expect(found).toHaveLength(299);
    found.forEach((d, k) => expect(d.message).toBe(`'d${k + 1}' is redundant in ipv4 and ipv6: every packet it matches is already accepted by 'd${k}' (p.yaml:${5 + k}:5); remove it`));
  });
});
