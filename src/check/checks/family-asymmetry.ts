import { diag, type Diagnostic } from '../../diagnostics/diagnostic.js';
import type { Chain, Family, IR, Origin, Rule, Ruleset, Target } from '../../model/ir.js';
import { pathKey, type Path } from '../../model/path.js';
import type { Check } from './api.js';
import { eachRuleTargeting, rulesTargeting } from './rule-sites.js';

/** The sections whose blocks family-asymmetry compares across the families. */
const BLOCKING_SECTIONS = new Set(['inbound', 'outbound', 'forward', 'users']);
/** Targets that block: a user block is a jump to its chain. */
const BLOCKING: readonly Target['kind'][] = ['drop', 'reject', 'jump'];

/** A block and the families it is in, as bits (not an array per block: a large policy has thousands). */
interface Block {
  readonly origin: Origin;
  families: number;
}

const BIT: Readonly<Record<Family, number>> = { ipv4: 1, ipv6: 2 };

function add<K>(blocks: Map<K, Block>, key: K, origin: Origin, families: number): void {
  const entry = blocks.get(key);
  if (!entry) blocks.set(key, { origin, families });
  else entry.families |= families;
}

/**
 * Whether every blocking rule has its twin in the other family: the rule at the same place among
 * the blocking rules of the same table and chain there, with the same target kind, made from the
 * same policy rule (the same origin object: normalize compiles the families of a rule from one
 * origin). The full check keeps or skips a rule by its origin and target kind alone, so it keeps
 * both twins or neither, and each block it keeps is then in both families: no finding.
 *
 * This compares origins by identity; the full check reads every blocking rule's origin, path and
 * label, and is the one that runs when some block has no twin.
 */
export function everyBlockPaired(ir: IR): boolean {
  const [first, second] = ir.rulesets;
  if (first === undefined || second === undefined) return true;
  // Each pair of twin chains is compared once, from the first ruleset's side.
  return blocksPaired(first, second, true) && blocksPaired(second, first, false);
}

/** Whether `rs`'s chains without a twin in `other` block nothing and, when `compare`, its twin chains' blocks pair up. */
function blocksPaired(rs: Ruleset, other: Ruleset, compare: boolean): boolean {
  // By name: a policy of users has thousands of chains.
  const twins = new Map(other.tables.flatMap((t) => t.chains.map((c) => [`${t.name} ${c.name}`, c] as const)));
  for (const table of rs.tables) {
    for (const chain of table.chains) {
      const twin = twins.get(`${table.name} ${chain.name}`);
      if (twin === undefined) {
        if (blocks(chain, rs.family).length > 0) return false;
      } else if (compare && !paired(blocks(chain, rs.family), blocks(twin, other.family))) return false;
    }
  }
  return true;
}

/** A chain's blocking rules; a hook jump (INPUT to IPFENCE-INPUT) blocks nothing. */
const blocks = (chain: Chain, family: Family): Rule[] => rulesTargeting(chain, BLOCKING).filter((r) => !(r.target.kind === 'jump' && r.target.hook));

/** Each rule the twin of the one at the same place: the same origin object and target kind (the full check counts a jump only from `users`, so a jump beside a drop proves nothing). */
const paired = (a: readonly Rule[], b: readonly Rule[]): boolean =>
  a.length === b.length && a.every((r, i) => r.origin === b[i]!.origin && r.target.kind === b[i]!.target.kind);

/** The findings, by reading every blocking rule: exact whatever the IR, and what `everyBlockPaired` short-cuts. */
export function oneFamilyBlocks(ir: IR): Diagnostic[] {
  // By path object first: a policy rule's IR rules mostly share it, and joining 100,000 paths
  // into keys is most of this check's time. Paths that are equal but not the same are joined after.
  const byPath = new Map<Path, Block>();
  eachRuleTargeting(ir, BLOCKING, ({ origin, target }, { family }) => {
    if (!BLOCKING_SECTIONS.has(String(origin.path[0])) || origin.label.endsWith(')')) return undefined;
    if (target.kind !== 'jump' || origin.path[0] === 'users') add(byPath, origin.path, origin, BIT[family]);
    return undefined;
  });
  const both = BIT.ipv4 | BIT.ipv6;
  // Joining cannot make a block one-family: with none so far, there is nothing to join.
  let oneFamily = false;
  for (const b of byPath.values()) if (b.families !== both) oneFamily = true;
  if (!oneFamily) return [];
  const seen = new Map<string, Block>();
  for (const { origin, families } of byPath.values()) add(seen, pathKey(origin.path), origin, families);
  return [...seen.values()].filter((e) => e.families !== both).map(({ origin, families }) => {
    const only = families === BIT.ipv4 ? 'IPv4' : 'IPv6';
    const other = only === 'IPv4' ? 'IPv6' : 'IPv4';
    return diag('family-asymmetry', origin.loc, `'${origin.label}' blocks in ${only} only: the same traffic over ${other} is not blocked; add the ${other} addresses (or remove \`family\`), or suppress this with a reason`, undefined, origin.path);
  });
}

/**
 * A block that exists in one family only: the same traffic over the other family is not blocked
 * (an owner block on IPv4 only was bypassed over IPv6 in our measurements).
 */
export const familyAsymmetry: Check = {
  code: 'family-asymmetry',
  kind: 'lint',
  docs: 'A deny or user block that ends up in one family only, because of `family:` or because its addresses are all IPv4 (or all IPv6). The same traffic over the other family is not blocked: a blocked host or user may still connect over IPv6. Add the other family\'s addresses, remove `family:`, or suppress with a reason when the host truly has no address in that family.',
  example: 'version: 1\nusers:\n  - { name: no-egress, user: 1001, family: ipv4 }\n',
  check: ({ ir }) => (everyBlockPaired(ir) ? [] : oneFamilyBlocks(ir)),
};
