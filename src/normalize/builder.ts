import { chain, ruleset, table, type Chain, type ChainPolicy, type Family, type Rule, type Ruleset, type TableName } from '../ir/ir.js';

/**
 * The order of rules inside a built-in chain, as data. Sections add rules to a group; the chain
 * is the concatenation of its groups in this order, so no section can accidentally place a rule
 * ahead of the preamble or after the default-policy tail.
 */
export const GROUP_ORDER = ['state', 'hide-all', 'loopback', 'essentials', 'hide-remote', 'limits', 'users', 'allow', 'deny', 'implicit', 'main', 'tail'] as const;
export type Group = (typeof GROUP_ORDER)[number];

export const BUILTIN_CHAINS: Readonly<Record<TableName, readonly string[]>> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
};
const TABLE_ORDER: readonly TableName[] = ['filter', 'nat', 'mangle'];

export class RulesetBuilder {
  private readonly groups = new Map<string, Rule[]>();
  private readonly userChains = new Map<string, { name: string; rules: Rule[] }[]>();
  private readonly used = new Set<string>();

  add(f: Family, t: TableName, c: string, g: Group, rules: readonly Rule[]): void {
    if (rules.length === 0) return;
    const key = `${f}/${t}/${c}/${g}`;
    const list = this.groups.get(key) ?? [];
    // Several allowlist rules for one port each imply the same "others" deny; keep the first.
    const same = (a: Rule, b: Rule) => JSON.stringify([a.matches, a.target]) === JSON.stringify([b.matches, b.target]);
    list.push(...(g === 'implicit' ? rules.filter((r) => !list.some((x) => same(x, r))) : rules));
    this.groups.set(key, list);
    this.used.add(`${f}/${t}`);
  }

  addUserChain(f: Family, t: TableName, name: string, rules: readonly Rule[]): void {
    const key = `${f}/${t}`;
    const list = this.userChains.get(key) ?? [];
    list.push({ name, rules: [...rules] });
    this.userChains.set(key, list);
    this.used.add(key);
  }

  build(filterPolicies: Readonly<Record<string, ChainPolicy>>): Ruleset[] {
    return (['ipv4', 'ipv6'] as const).map((f) =>
      ruleset(
        f,
        TABLE_ORDER.filter((t) => t === 'filter' || this.used.has(`${f}/${t}`)).map((t) => {
          const builtins: Chain[] = BUILTIN_CHAINS[t].map((c) =>
            chain(c, t === 'filter' ? filterPolicies[c] ?? 'ACCEPT' : 'ACCEPT', GROUP_ORDER.flatMap((g) => this.groups.get(`${f}/${t}/${c}/${g}`) ?? [])),
          );
          // Sorted by name as iptables-save lists them, so a host's saved ruleset diffs cleanly against ours.
          const users = (this.userChains.get(`${f}/${t}`) ?? [])
            .slice()
            .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
            .map((u) => chain(u.name, null, u.rules));
          return table(t, [...builtins, ...users]);
        }),
      ),
    );
  }
}
