import { describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';
import { IndexedChain } from '../../src/packet/index/chain-index.js';
import { modelsOf } from '../../src/packet/path.js';
import { undecidedDiagnostic } from '../../src/check/checks/shadowed.js';

/**
 * Rules that overlap one another in three dimensions (sources, destinations, ports), then two
 * halves that together decide all of `last`: taking the overlapping rules out of last's packets
 * first cuts them into pieces, one more for each.
 */
function overlapping(n: number): string {
  let seed = 12345;
  const rnd = (m: number): number => {
    seed = (seed * 48271) % 2147483647;
    return seed % m;
  };
  const lines = ['version: 1', 'defaults: { input: drop, order: as-written }', 'host: { addresses: [192.168.0.0/16] }', 'inbound:', '  - { name: ssh, port: 22 }'];
  for (let i = 0; i < n; i++) {
    const lo = 1000 + rnd(900);
    const [b, b2] = [17 + rnd(4), 17 + rnd(4)];
    const src = `10.0.${rnd(1 << (b - 16)) << (24 - b)}.0/${b}`;
    const dst = `192.168.${rnd(1 << (b2 - 16)) << (24 - b2)}.0/${b2}`;
    lines.push(`  - { name: f${i}, from: ${src}, to: ${dst}, port: "${lo}-${lo + rnd(300)}"${i % 2 ? ', action: drop' : ''} }`);
  }
  lines.push('  - { name: half-a, from: 10.0.0.0/17, port: "1000-1999", to: 192.168.0.0/16 }');
  lines.push('  - { name: half-b, from: 10.0.128.0/17, port: "1000-1999", to: 192.168.0.0/16, action: drop }');
  lines.push('  - { name: last, from: 10.0.0.0/16, port: "1000-1999", to: 192.168.0.0/16 }');
  return `${lines.join('\n')}\n`;
}

describe('a rule whose shadowing cannot be decided within the work budget', () => {
  const text = overlapping(30);
  const r = compile(text, 'p.yaml', 'p.yaml', { emit: false });
  const ipv4 = modelsOf(r.ir!).find((m) => m.family === 'ipv4')!;
  const input = ipv4.ruleset.tables.find((t) => t.name === 'filter')!.chains.find((c) => c.name === 'IPFENCE-INPUT')!;

  it('is dead within the usual budget (so the case below hides a real finding)', () => {
    expect(r.diagnostics.some((d) => d.code === 'shadowed' && /'last' never matches in ipv4/.test(d.message))).toBe(true);
    const chain = new IndexedChain(input, 'ipv4', (rule) => ipv4.box(rule));
    expect(chain.dead.map((d) => d.rule.origin.label)).toContain('last');
    expect(chain.undecided).toEqual([]);
  });

  it('is recorded as undecided past the budget, never silently taken as live, and said at its place', () => {
    // A budget of 10 pieces: the 30 overlapping rules cut last's packets into more.
    const chain = new IndexedChain(input, 'ipv4', (rule) => ipv4.box(rule), 10);
    expect(chain.dead.map((d) => d.rule.origin.label)).not.toContain('last');
    const last = chain.undecided.find((u) => u.rule.origin.label === 'last');
    expect(last).toBeDefined();
    const d = undecidedDiagnostic({ rule: last!.rule, families: new Set(['ipv4']), overlapping: last!.overlapping });
    expect(d).toMatchObject({ code: 'analysis-limit', severity: 'warning', file: 'p.yaml', line: text.split('\n').findIndex((l) => l.includes('name: last')) + 1, col: 5 });
    expect(d.message).toMatch(/^whether 'last' ever matches in ipv4 was not decided: the \d+ earlier rules .* more than 20,000 pieces, so it is reported neither as shadowed nor as live; split it/);
  });
});
