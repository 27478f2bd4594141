import { accept, chain, reject, rule, ruleset, table, type BuiltinPolicy, type Family, type IR, type Match, type TableName, type Target } from '../../src/model/ir.js';

/** Hand-built IR for the checks and guards no policy reaches: one family, rules from a compact spec. */
export const loc = { file: 'policy.yaml', line: 7, col: 5 };
export const origin = { path: ['inbound', 0], loc, label: 'r' };
export type Spec = Partial<Record<TableName, Record<string, [Match[], Target][]>>>;
/** A one-family IR from a compact spec: { table: { chain: [[matches, target], ...] } }. */
export function irOf(spec: Spec, family: Family = 'ipv4', policies: Record<string, BuiltinPolicy> = {}): IR {
  return {
    kind: 'ir',
    ownership: 'full',
    runFirst: [],
    routes: [],
    sets: [],
    tests: [],
    rulesets: [ruleset(family, Object.entries(spec).map(([t, chains]) => table(t as TableName, Object.entries(chains!).map(([c, rs]) =>
      chain(c, /^[A-Z]+$/.test(c) ? policies[c] ?? 'ACCEPT' : null, rs.map(([ms, tg]) => rule(ms, tg, origin))))))),
    ],
  };
}
export const irWith = (label: string, matches: Match[] = []): IR => ({
  kind: 'ir',
  ownership: 'full',
  runFirst: [],
  routes: [],
  sets: [],
  tests: [],
  rulesets: [ruleset('ipv4', [table('filter', [chain('INPUT', 'ACCEPT', [rule(matches, accept, { ...origin, label })])])])],
});
export const tcp: Match = { kind: 'proto', proto: 'tcp' };
export const port = (n: number): Match => ({ kind: 'dports', proto: 'tcp', ports: [{ lo: n, hi: n }] });
export const owner: Match = { kind: 'owner', by: 'uid', id: '1001' };
export const manyPorts: Match[] = Array.from({ length: 130 }, (_, i) => ({ kind: 'ctorigdstport', ports: { lo: i + 1, hi: i + 1 } }));
export const redirect: Target = { kind: 'redirect', toPort: 8443 };
export const resetT = reject('tcp-reset');

