import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { IR } from '../src/model/ir.js';
import { followPath, modelsOf } from '../src/packet/path.js';
import { reachable } from '../src/analysis/reach.js';
import { boxHas, DIM, pointOf, copyBox } from '../src/packet/space.js';
import { compile } from '../src/pipeline.js';
import { policyArb } from './helpers/arbitrary.js';
import type { Path } from './helpers/interpreter.js';
import { addressesIn, packetArb, portsIn, witnessOf } from './helpers/packets.js';

/** The translation that takes a connection off each path's filter hook (as reach.ts says). */
const MOVES = { in: 'dnat', forward: 'redirect', out: 'redirect' } as const;

const irOf = (policy: unknown): IR | undefined => compile(stringify(policy), 'policy.yaml', 'policy.yaml', { emit: false }).ir;

/**
 * show's definition: on each path, a new connection whose verdict in the packet model is not
 * the section's fallback is in exactly one row, which says that verdict, and one whose verdict is
 * the fallback is in none. Loopback is left out only when all of it is accepted. Random policies
 * of every section (redirects and port forwards that move connections to another hook's rules
 * among them), random packets and one packet per rule.
 */
describe('show against the packet model, packet by packet', () => {
  it("puts every new connection whose verdict is not the fallback in one row saying it, and no other", () => {
    let rowed = 0;
    let fell = 0;
    let moved = 0;
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 0, max: 2 ** 31 }), (p, seed) => {
        const ir = irOf(p);
        if (ir === undefined) return;
        const addrs = [...addressesIn(p)];
        const ports = [...portsIn(p)].filter((x) => x >= 1 && x <= 65535);
        const users = (p.users ?? []).map((u) => String((u as { user: unknown }).user)).flatMap((u) => (/^\d+-\d+$/.test(u) ? u.split('-') : [u]));
        for (const model of modelsOf(ir)) {
          const family = model.family;
          const rules = model.ruleset.tables.flatMap((t) => t.chains.flatMap((c) => c.rules));
          for (const path of ['in', 'out', 'forward'] as const satisfies readonly Path[]) {
            const reach = reachable(model, path);
            const random = fc.sample(packetArb(family, path, addrs, ports, users), { numRuns: 16, seed: seed + path.length });
            const packets = [...random, ...random.slice(0, 12).map((x, k) => (rules.length > 0 ? witnessOf(rules[(seed + k * 7) % rules.length]!, x, family) : x))];
            for (const packet of packets.map((x) => ({ ...x, state: 'NEW' as const }))) {
              // A connection on lo is this host's own: listed under "from this host" only. Nothing is forwarded from or to lo.
              if (path !== 'out' && (packet.in === 'lo' || packet.out === 'lo')) continue;
              const lo = path === 'out' && packet.out === 'lo';
              if (lo && reach.loopbackUnlisted) continue;
              const box = copyBox(pointOf(family, packet)!);
              box[DIM.primary] = box[DIM.dst];
              const point = box.map((d) => d[0]![0]);
              const outcome = followPath(model, path, box);
              expect(outcome).toHaveLength(1);
              const { verdict } = outcome[0]!;
              const movedBy = outcome[0]!.rules.some((r) => r.target.kind === MOVES[path]);
              const holding = reach.rows.filter((r) => boxHas(r.box, point));
              const told = `${family} ${path} ${JSON.stringify(packet)}`;
              expect(holding.length, told).toBeLessThanOrEqual(1);
              const row = holding[0];
              if (row === undefined) {
                // Not listed: the fallback, not moved elsewhere; or loopback, all of it accepted.
                const loListed = reach.rows.some((r) => r.box[DIM.out].some(([a, b]) => a <= point[DIM.out]! && point[DIM.out]! <= b));
                // Loopback left out only when all of it is accepted (redirected by a local redirect or not).
                if (lo && !loListed && verdict === 'accept') continue;
                expect([verdict, movedBy], told).toEqual([reach.fallback, false]);
                fell++;
                continue;
              }
              expect(row.verdict, told).toBe(verdict);
              // The label says a translation took it to another hook's rules, and only then.
              expect(row.moved !== undefined, told).toBe(movedBy);
              if (verdict === reach.fallback) expect(row.moved, told).toBeDefined();
              rowed++;
              if (row.moved !== undefined) moved++;
            }
          }
        }
      }),
      { numRuns: 60 },
    );
    // Not vacuous: many connections in rows, many at the fallback, some moved to another hook.
    // (About 250 to 450 rows and 10 to 20 moved in 60 runs.)
    expect(rowed).toBeGreaterThan(120);
    expect(fell).toBeGreaterThan(300);
    expect(moved).toBeGreaterThan(2);
  }, 300_000);
});
