import { FAMILY_NAMES } from '../model/family.js';
import { chain, hookJump, rule, ruleset, table, type AddressSet, type Chain, type BuiltinPolicy, type Family, type Origin, type Ownership, type Rule, type Ruleset, type TableName } from '../model/ir.js';
import type { Cidr } from '../values/addresses.js';
import { BUILTIN_CHAINS, DOCKER_CHAIN, TABLE_ORDER, defaultChain, hookChain } from '../model/chains.js';

/**
 * The order of rules inside a built-in chain, as data. Sections add rules to a group; the chain
 * is the concatenation of its groups in this order, so no section can accidentally place a rule
 * ahead of the preamble or after the default-policy tail.
 *
 * `untracked` (the accept of a notrack service's replies, which no established accept covers)
 * comes after the users' blocks and every outbound rule: it matches by source port, which any
 * local program can bind, so a block or deny written for a user or a destination must meet such
 * packets first. `redirected` (the accept of redirected connections) comes after every inbound
 * rule, so that a redirected connection meets the rules written for its target port as a direct
 * one does.
 */
const GROUP_ORDER = ['state', 'hide-all', 'loopback', 'essentials', 'hide-remote', 'limits', 'users', 'allow', 'deny', 'implicit', 'untracked', 'redirected', 'main', 'tail'] as const;
export type Group = (typeof GROUP_ORDER)[number];
/** Every group but the tail: what a coexisting chain of ours holds (the tail is hooked at the end). */
const BODY_GROUPS: readonly Group[] = GROUP_ORDER.filter((g) => g !== 'tail');

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
  /** Each set's name by family and content, so that a list many rules use is one set. */
  private readonly setByContent = new Map<string, string>();
  /** The same by the list's identity (a named set, or a variable's list, is one array for every rule): no key is built. */
  private readonly setByList = new WeakMap<readonly Cidr[], Partial<Record<Family, string>>>();

  /**
   * The set to match for `cidrs` in `family`: an earlier set of the same content, else a new one
   * named `name` (when `fits` its entries). Identical sets were written once per rule before: a
   * long list named in a thousand rules made a thousand copies of it in `ipsets`.
   */
  addSet(name: string, family: Family, cidrs: readonly Cidr[], list: readonly Cidr[], origin: Origin, fits: (entries: number) => boolean): string | undefined {
    const known = this.setByList.get(list)?.[family];
    if (known !== undefined) return known;
    const entries = cidrs.map((c) => c.text);
    const key = `${family} ${entries.join(' ')}`;
    let found = this.setByContent.get(key);
    if (found === undefined) {
      if (!fits(entries.length)) return undefined;
      this.sets.push({ kind: 'set', name, family, entries, origin });
      this.setByContent.set(key, (found = name));
    }
    const byFamily = this.setByList.get(list) ?? {};
    byFamily[family] = found;
    this.setByList.set(list, byFamily);
    return found;
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

  /** A built-in chain's rules: its groups in order. */
  private chainRules(chainKey: string, groups: readonly Group[]): Rule[] {
    return ([] as Rule[]).concat(...groups.map((g) => this.groups.get(`${chainKey}/${g}`) ?? []));
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
   * ruleset owns every table and declares every built-in chain, each jumping to its chain of ours. A
   * coexisting one declares only its own chains, plus a built-in chain where the author set its
   * policy; its default verdicts go to chains hooked at the end, after other tools' rules.
   */
  build(ownership: Ownership, policies: Readonly<Record<string, BuiltinPolicy>>, explicit: ReadonlySet<string>, hookOrigin: Origin): Ruleset[] {
    const full = ownership === 'full';
    return FAMILY_NAMES.map((f) =>
      ruleset(
        f,
        TABLE_ORDER.filter((t) => full || t === 'filter' || this.used.has(`${f}/${t}`)).map((t) => {
          const groupsOf = (c: string, gs: readonly Group[]) => this.chainRules(`${f}/${t}/${c}`, gs);
          const own = this.userChains.get(`${f}/${t}`) ?? [];
          const builtins: Chain[] = [];
          const ours: Chain[] = [];
          for (const c of BUILTIN_CHAINS[t]) {
            const policy = t === 'filter' ? policies[c] ?? 'ACCEPT' : 'ACCEPT';
            const main = groupsOf(c, full ? GROUP_ORDER : BODY_GROUPS);
            const tail = full ? [] : groupsOf(c, ['tail']);
            if (full) builtins.push(chain(c, policy, main.length > 0 ? [rule([], hookJump(hookChain(c)), hookOrigin)] : []));
            else if (t === 'filter' && explicit.has(c)) builtins.push(chain(c, policy, []));
            if (main.length > 0) ours.push(chain(hookChain(c), null, main, full ? undefined : [c]));
            if (tail.length > 0) ours.push(chain(defaultChain(c), null, tail, [c], 'end'));
          }
          // User chains sorted by name as iptables-save lists them, so a host's saved ruleset diffs cleanly against ours.
          const users = [...ours, ...own.map((u) => chain(u.name, null, u.rules, u.name === DOCKER_CHAIN ? ['FORWARD'] : undefined))].sort((a, b) =>
            a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
          );
          return table(t, [...builtins, ...users]);
        }),
      ),
    );
  }
}
