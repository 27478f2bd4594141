import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import type { Chain, Family, IR, Match, Rule, Table, Target } from '../../model/ir.js';
import { chainGraph } from '../../packet/chain-graph.js';

/** A chain with its family, table and the hooks it runs in: what a check needs around a rule. */
export interface ChainSite {
  readonly family: Family;
  readonly table: Table;
  readonly chain: Chain;
  /** The built-in chains (hooks) from which the chain's rules can be reached through jumps. */
  readonly hooks: ReadonlySet<string>;
}

const sites = new WeakMap<IR, readonly ChainSite[]>();

/** Every chain of the IR with its family, table and reaching hooks, in emission order (built once per IR). */
function chainSites(ir: IR): readonly ChainSite[] {
  const hit = sites.get(ir);
  if (hit) return hit;
  const out: ChainSite[] = [];
  for (const rs of ir.rulesets) {
    for (const table of rs.tables) {
      const graph = chainGraph(table);
      for (const chain of table.chains) out.push({ family: rs.family, table, chain, hooks: graph.hooksOf(chain.name) });
    }
  }
  sites.set(ir, out);
  return out;
}

/** The findings of `visit` over every rule, in emission order; `chains` skips whole chains. */
export function eachRule(ir: IR, visit: Visit, chains?: (site: ChainSite) => boolean): Diagnostic[] {
  return visitRules(ir, null, visit, chains);
}

/**
 * A chain's rules by kind, in one pass over the IR, built the first time a check asks: most
 * checks are about kinds few rules have (interfaces, owners, ICMP types, rejects), and need not
 * visit the others.
 */
interface ChainIndex {
  readonly byMatch: ReadonlyMap<Match['kind'], readonly number[]>;
  readonly byTarget: ReadonlyMap<Target['kind'], readonly number[]>;
}

const indexes = new WeakMap<Chain, ChainIndex>();

function indexOf(chain: Chain): ChainIndex {
  let index = indexes.get(chain);
  if (index === undefined) {
    const byMatch = new Map<Match['kind'], number[]>();
    const byTarget = new Map<Target['kind'], number[]>();
    const rules = chain.rules;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      for (let k = 0; k < r.matches.length; k++) addPosition(byMatch, r.matches[k]!.kind, i);
      addPosition(byTarget, r.target.kind, i);
    }
    indexes.set(chain, (index = { byMatch, byTarget }));
  }
  return index;
}

/** Adds rule `i` to the list of `kind`, once (a rule may have two matches of one kind). */
function addPosition<K>(lists: Map<K, number[]>, kind: K, i: number): void {
  const list = lists.get(kind);
  if (list === undefined) lists.set(kind, [i]);
  else if (list[list.length - 1] !== i) list.push(i);
}

/** The positions of the chain's rules with one of `kinds` among their matches (or as their target), in order. */
function positions<K>(lists: ReadonlyMap<K, readonly number[]>, kinds: readonly K[]): readonly number[] {
  const found = kinds.map((k) => lists.get(k)).filter((l): l is readonly number[] => l !== undefined);
  if (found.length <= 1) return found[0] ?? [];
  return [...new Set(found.flat())].sort((a, b) => a - b);
}

/** The rules of a chain whose target is one of `targets`, in order. */
export function rulesTargeting(chain: Chain, targets: readonly Target['kind'][]): Rule[] {
  return positions(indexOf(chain).byTarget, targets).map((i) => chain.rules[i]!);
}

/** `eachRule`, over only the rules with a match of one of `kinds`. */
export function eachRuleWith(ir: IR, kinds: readonly Match['kind'][], visit: Visit, chains?: (site: ChainSite) => boolean): Diagnostic[] {
  return visitRules(ir, (c) => positions(indexOf(c).byMatch, kinds), visit, chains);
}

/** `eachRule`, over only the rules whose target is one of `targets`. */
export function eachRuleTargeting(ir: IR, targets: readonly Target['kind'][], visit: Visit, chains?: (site: ChainSite) => boolean): Diagnostic[] {
  return visitRules(ir, (c) => positions(indexOf(c).byTarget, targets), visit, chains);
}

type Visit = (rule: Rule, site: ChainSite, index: number) => Diagnostic | undefined;

/** The findings of `visit` over the rules `which` picks (all, without it) of the chains `chains` keeps. */
function visitRules(ir: IR, which: ((c: Chain) => readonly number[]) | null, visit: Visit, chains?: (site: ChainSite) => boolean): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const site of chainSites(ir)) {
    if (chains && !chains(site)) continue;
    const rules = site.chain.rules;
    if (which === null) {
      for (let i = 0; i < rules.length; i++) {
        const d = visit(rules[i]!, site, i);
        if (d) out.push(d);
      }
      continue;
    }
    for (const i of which(site.chain)) {
      const d = visit(rules[i]!, site, i);
      if (d) out.push(d);
    }
  }
  return out;
}

/** Whether some rule satisfies `test` (stops at the first). */
export function someRule(ir: IR, test: (rule: Rule, site: ChainSite) => boolean): boolean {
  return chainSites(ir).some((site) => site.chain.rules.some((r) => test(r, site)));
}

/** A rule's destination ports as a policy writes them (`8445`, `8000-8010`), for messages. */
export const dportsText = (rule: Rule): string[] =>
  rule.matches.flatMap((m) => (m.kind === 'dports' ? m.ports.map((p) => (p.lo === p.hi ? String(p.lo) : `${p.lo}-${p.hi}`)) : []));

export const dropsByDefault = (defaults: { readonly [k: string]: unknown } | undefined, key: 'input' | 'forward' | 'output'): boolean =>
  ((defaults?.[key] as string | undefined) ?? 'accept') !== 'accept';

/** The hooks in `hooks` that are not allowed, as a readable list, or '' when all are allowed. */
export function forbidden(hooks: ReadonlySet<string>, allowed: readonly string[]): string {
  return [...hooks].filter((h) => !allowed.includes(h)).sort().join(', ');
}

/** Findings for a target that the kernel accepts only in one table and some of its hooks. */
export function misplacedTarget(ir: IR, kind: Rule['target']['kind'], tableName: Table['name'], hooks: readonly string[], report: (rule: Rule, where: string) => Diagnostic): Diagnostic[] {
  return eachRuleTargeting(ir, [kind], (rule, site) => {
    const where = site.table.name !== tableName ? `the ${site.table.name} table` : forbidden(site.hooks, hooks);
    return where ? report(rule, where) : undefined;
  });
}
