import { chain, ruleset, table, type AddressSet, type Chain, type ChainPolicy, type Family, type Origin, type Ownership, type Rule, type Ruleset, type TableName } from '../ir/ir.js';
import type { Cidr } from './addresses.js';

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

/** In coexist mode each built-in chain's rules live in a chain of ours, hooked in by apply.sh. */
export const hookChain = (builtin: string): string => `IPFENCE-${builtin}`;
/** Where Docker's user chain is hooked: DOCKER-USER runs in FORWARD. */
export const DOCKER_CHAIN = 'IPFENCE-DOCKER';

function child<V>(m: Map<string, Map<string, V>>, k: string): Map<string, V> {
  let c = m.get(k);
  if (!c) m.set(k, (c = new Map<string, V>()));
  return c;
}

export class RulesetBuilder {
  private readonly groups = new Map<string, Rule[]>();
  private readonly implicitKeys = new Map<string, Set<string>>();
  private readonly userChains = new Map<string, { name: string; rules: Rule[] }[]>();
  private readonly used = new Set<string>();
  readonly sets: AddressSet[] = [];

  addSet(name: string, family: Family, cidrs: readonly Cidr[], origin: Origin): void {
    if (!this.sets.some((x) => x.name === name)) this.sets.push({ kind: 'set', name, family, entries: cidrs.map((c) => c.text), origin });
  }

  /**
   * A group's rules, to append to directly (not the implicit group, which add() deduplicates).
   * Filter sections append 100,000 rules one at a time.
   */
  groupRules(f: Family, t: TableName, c: string, g: Exclude<Group, 'implicit'>): Rule[] {
    const key = this.groupKey(f, t, c, g);
    let list = this.groups.get(key);
    if (list === undefined) this.groups.set(key, (list = []));
    return list;
  }

  add(f: Family, t: TableName, c: string, g: Group, rules: readonly Rule[]): void {
    if (rules.length === 0) return;
    const key = this.groupKey(f, t, c, g);
    const list = this.groups.get(key) ?? [];
    if (g === 'implicit') {
      // Several allowlist rules for one port each imply the same "others" deny; keep the first.
      const keys = this.implicitKeys.get(key) ?? new Set<string>();
      this.implicitKeys.set(key, keys);
      for (const r of rules) {
        const k = JSON.stringify([r.matches, r.target]);
        if (!keys.has(k)) {
          keys.add(k);
          list.push(r);
        }
      }
    } else {
      for (const r of rules) list.push(r);
    }
    this.groups.set(key, list);
  }

  /** Sections add to the same few groups 100,000 times: their key strings are built once. */
  private readonly keys = new Map<string, Map<string, Map<string, Map<string, string>>>>();
  private groupKey(f: Family, t: TableName, c: string, g: Group): string {
    const byGroup = child(child(child(this.keys, f), t), c);
    let key = byGroup.get(g);
    if (key === undefined) {
      byGroup.set(g, (key = `${f}/${t}/${c}/${g}`));
      this.used.add(`${f}/${t}`);
    }
    return key;
  }

  /**
   * A built-in chain's rules: its groups in order, copied once at their total length (a group may
   * hold 100,000 rules) by concat, whose result is a packed array (no holes) as its parts are:
   * every check and the rendering read it.
   */
  private chainRules(chainKey: string): Rule[] {
    return ([] as Rule[]).concat(...GROUP_ORDER.map((g) => this.groups.get(`${chainKey}/${g}`) ?? []));
  }

  addUserChain(f: Family, t: TableName, name: string, rules: readonly Rule[]): void {
    const key = `${f}/${t}`;
    const list = this.userChains.get(key) ?? [];
    list.push({ name, rules: [...rules] });
    this.userChains.set(key, list);
    this.used.add(key);
  }

  /**
   * `policies` are the filter chains' policies; `explicit` says which the author wrote. A full
   * ruleset owns its tables and declares every built-in chain. A coexisting one declares only its
   * own chains, plus a built-in chain where the author set its policy.
   */
  build(ownership: Ownership, policies: Readonly<Record<string, ChainPolicy>>, explicit: ReadonlySet<string>): Ruleset[] {
    return (['ipv4', 'ipv6'] as const).map((f) =>
      ruleset(
        f,
        TABLE_ORDER.filter((t) => t === 'filter' || this.used.has(`${f}/${t}`)).map((t) => {
          const rulesOf = (c: string) => this.chainRules(`${f}/${t}/${c}`);
          const own = this.userChains.get(`${f}/${t}`) ?? [];
          const builtins: Chain[] =
            ownership === 'full'
              ? BUILTIN_CHAINS[t].map((c) => chain(c, t === 'filter' ? policies[c] ?? 'ACCEPT' : 'ACCEPT', rulesOf(c)))
              : BUILTIN_CHAINS[t].filter((c) => t === 'filter' && explicit.has(c)).map((c) => chain(c, policies[c] ?? 'ACCEPT', []));
          const hooked: Chain[] = ownership === 'full' ? [] : BUILTIN_CHAINS[t].filter((c) => rulesOf(c).length > 0).map((c) => chain(hookChain(c), null, rulesOf(c), [c]));
          // User chains sorted by name as iptables-save lists them, so a host's saved ruleset diffs cleanly against ours.
          const users = [...hooked, ...own.map((u) => chain(u.name, null, u.rules, u.name === DOCKER_CHAIN ? ['FORWARD'] : undefined))].sort((a, b) =>
            a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
          );
          return table(t, [...builtins, ...users]);
        }),
      ),
    );
  }
}
