import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { familyRecord } from '../src/model/family.js';
import { decidingRule, explainPacket } from '../src/analysis/explain.js';
import { followPath, modelsOf } from '../src/packet/path.js';
import { boxHas, DIM, pointOf, copyBox } from '../src/packet/space.js';
import { compile } from '../src/pipeline.js';
import { policyArb } from './helpers/arbitrary.js';
import { Interpreter, type Path } from './helpers/interpreter.js';
import { addressesIn, packetArb, portsIn, witnessOf } from './helpers/packets.js';

describe('the packet model against a plain interpreter of the emitted rules', () => {
  it('gives every random packet of every random policy the verdict the rules give it, on every path and in both families (and so do explain, entry coordinates and a walk that keeps only refusals)', () => {
    let compared = 0;
    const seen = new Set<string>();
    fc.assert(
      fc.property(policyArb, fc.constantFrom<Path>('in', 'out', 'forward'), fc.integer({ min: 0, max: 2 ** 31 }), (policy, path, seed) => {
        const r = compile(stringify(policy), 'policy.yaml');
        if (!r.artifacts || !r.ir) return;
        const addrs = [...addressesIn(policy)];
        const ports = [...portsIn(policy)].filter((p) => p >= 1 && p <= 65535);
        const users = (policy.users ?? []).map((u) => String((u as { user: unknown }).user)).flatMap((u) => (/^\d+-\d+$/.test(u) ? u.split('-') : [u]));
        for (const model of modelsOf(r.ir)) {
          const f = model.family;
          const text = r.artifacts.find((a) => a.file === familyRecord(f).outputFile)!.content;
          const ipsets = r.artifacts.find((a) => a.file === 'ipsets')?.content ?? '';
          const interpreter = new Interpreter(f, text, ipsets);
          const rules = model.ruleset.tables.flatMap((t) => t.chains.flatMap((c) => c.rules));
          const random = fc.sample(packetArb(f, path, addrs, ports, users), { numRuns: 40, seed });
          const packets = [...random, ...random.slice(0, 20).map((p, k) => (rules.length > 0 ? witnessOf(rules[(seed + k * 7) % rules.length]!, p, f) : p))];
          const own = addrs.filter((a) => !a.includes('/') && a.includes(':') === (f === 'ipv6'));
          for (const [k, p] of packets.entries()) {
            // The primary address of its incoming interface, where a redirect in PREROUTING sends
            // it: the address it was sent to, or another (a secondary address, or this host's
            // while the packet was routed through it).
            const primary = k % 2 === 0 || own.length === 0 ? p.dst : own[(seed + k) % own.length]!;
            const point = copyBox(pointOf(f, p)!);
            point[DIM.primary] = pointOf(f, { ...p, src: primary })![DIM.src];
            let outcomes;
            try {
              outcomes = followPath(model, path, point);
            } catch (e) {
              throw new Error(`${f} ${path} ${JSON.stringify(p)}: ${String(e)}`);
            }
            expect(outcomes, JSON.stringify(p)).toHaveLength(1);
            const expected = interpreter.verdict(path, p, primary);
            expect(outcomes[0]!.verdict, `${path} ${JSON.stringify(p)}\n${text}`).toBe(expected);
            // The same packet as it entered, even after a redirect, DNAT or notrack changed it.
            expect(outcomes[0]!.entry).toEqual(point);
            // A walk that keeps only refusals forgets an accepted packet and keeps a refused one.
            expect(followPath(model, path, point, undefined, (_, v) => v !== 'accept').map((o) => o.verdict)).toEqual(expected === 'accept' ? [] : [expected]);
            // explain's trace ends at the rule that decided (or the policy).
            const cases = explainPacket(model, path, p)!;
            const told = cases.find((c) => c.primary === undefined || boxHas([c.primary], [point[DIM.primary][0]![0]]))!.explanation;
            expect(told.outcome.verdict).toBe(expected);
            const decided = decidingRule(told.outcome);
            const lastRule = [...told.events].reverse().find((e) => e.kind === 'rule' && !e.limited && ['accept', 'drop', 'reject'].includes(e.rule.target.kind));
            if (decided) expect(lastRule && lastRule.kind === 'rule' ? lastRule.rule : undefined).toBe(decided);
            seen.add(`${path} ${expected}`);
            compared++;
          }
        }
      }),
      { numRuns: 300 },
    );
    // Not vacuous: every path saw packets accepted and refused.
    for (const path of ['in', 'out', 'forward']) for (const v of ['accept', 'drop', 'reject']) expect(seen, `${path} ${v}`).toContain(`${path} ${v}`);
    expect(compared).toBeGreaterThan(5000);
  }, 120_000);
});
