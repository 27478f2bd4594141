import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eachRule, eachRuleTargeting, eachRuleWith, rulesTargeting } from '../../src/check/checks/rule-sites.js';
import { diag } from '../../src/diagnostics/diagnostic.js';
import type { IR, Match, Rule, Target } from '../../src/model/ir.js';
import { compile } from '../../src/pipeline.js';

const TARGETS: Target['kind'][] = ['accept', 'drop', 'reject', 'return', 'jump', 'log', 'redirect', 'dnat', 'snat', 'masquerade', 'notrack', 'helper', 'mark'];
const MATCHES: Match['kind'][] = ['src', 'dst', 'iprange', 'ctdir', 'ctorigdst', 'set', 'in', 'out', 'proto', 'dports', 'sports', 'icmp-type', 'hop-limit', 'ctstate', 'ctorigdstport', 'owner', 'limit', 'hashlimit'];

const policies = [
  ...readdirSync('examples').filter((f) => f.endsWith('.yaml')).map((f) => `examples/${f}`),
  ...readdirSync('test/fixtures', { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('_')).map((d) => `test/fixtures/${d.name}/policy.yaml`).filter((f) => !f.includes('/examples/')),
];

/** Every rule a walk visits, in order, as (chain, index) keys. */
function visited(walk: (visit: (rule: Rule, site: { chain: { name: string }; family: string }, i: number) => undefined) => unknown): string[] {
  const out: string[] = [];
  walk((_rule, site, i) => {
    out.push(`${site.family} ${site.chain.name} ${i}`);
    return undefined;
  });
  return out;
}

function everyRule(ir: IR, keep: (r: Rule) => boolean): string[] {
  return visited((v) => eachRule(ir, (r, site, i) => (keep(r) ? v(r, site, i) : undefined)));
}

describe('walks over the rules of kinds', () => {
  it.each(policies)('%s: visit exactly the rules with a match or target of the kinds asked, in order', (file) => {
    const ir = compile(readFileSync(file, 'utf8'), file).ir!;
    expect(ir).toBeDefined();
    let found = 0;
    for (const t of TARGETS) {
      const want = everyRule(ir, (r) => r.target.kind === t);
      found += want.length;
      expect(visited((v) => eachRuleTargeting(ir, [t], v)), t).toEqual(want);
    }
    expect(visited((v) => eachRuleTargeting(ir, ['drop', 'jump'], v))).toEqual(everyRule(ir, (r) => r.target.kind === 'drop' || r.target.kind === 'jump'));
    for (const m of MATCHES) expect(visited((v) => eachRuleWith(ir, [m], v)), m).toEqual(everyRule(ir, (r) => r.matches.some((x) => x.kind === m)));
    for (const rs of ir.rulesets) for (const t of rs.tables) for (const c of t.chains) expect(rulesTargeting(c, ['jump', 'return'])).toEqual(c.rules.filter((r) => r.target.kind === 'jump' || r.target.kind === 'return'));
    expect(found).toBeGreaterThan(0);
  });
  it('the policies above hold every target kind and most match kinds (the cases are not vacuous)', () => {
    const targets = new Set<string>();
    const matches = new Set<string>();
    for (const file of policies) {
      const ir = compile(readFileSync(file, 'utf8'), file).ir!;
      eachRule(ir, (r) => {
        targets.add(r.target.kind);
        for (const m of r.matches) matches.add(m.kind);
        return undefined;
      });
    }
    expect([...targets].sort()).toEqual([...TARGETS].sort());
    expect(matches.size).toBeGreaterThanOrEqual(14);
  });
  it('returns the findings of the rules visited', () => {
    const ir = compile(readFileSync('examples/web-server.yaml', 'utf8'), 'w.yaml').ir!;
    const found = eachRuleTargeting(ir, ['accept'], (r) => diag('internal', r.origin.loc, 'x'));
    expect(found.length).toBe(everyRule(ir, (r) => r.target.kind === 'accept').length);
    expect(found.length).toBeGreaterThan(0);
  });
});
