import { diag } from '../../diagnostics/diagnostic.js';
import type { Family, Origin, Target } from '../../ir/ir.js';
import type { Path } from '../../load/source.js';
import type { Check } from '../check.js';
import { eachRuleTargeting } from './walk.js';

const SECTIONS = new Set(['inbound', 'outbound', 'forward', 'users']);
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
 * A block that exists in one family only: the same traffic over the other family is not blocked
 * (an owner block on IPv4 only was bypassed over IPv6 in our measurements).
 */
export const familyAsymmetry: Check = {
  code: 'family-asymmetry',
  severity: 'warning',
  docs: 'A deny or user block that ends up in one family only, because of `family:` or because its addresses are all IPv4 (or all IPv6). The same traffic over the other family is not blocked: a blocked host or user may still connect over IPv6. Add the other family\'s addresses, remove `family:`, or suppress with a reason when the host truly has no address in that family.',
  example: 'version: 1\nusers:\n  - { name: no-egress, user: 1001, family: ipv4 }\n',
  check: ({ ir }) => {
    // By path object first: a policy rule's IR rules mostly share it, and joining 100,000 paths
    // into keys is most of this check's time. Paths that are equal but not the same are joined after.
    const byPath = new Map<Path, Block>();
    eachRuleTargeting(ir, BLOCKING, ({ origin, target }, { family }) => {
      if (!SECTIONS.has(String(origin.path[0])) || origin.label.endsWith(')')) return undefined;
      if (target.kind !== 'jump' || origin.path[0] === 'users') add(byPath, origin.path, origin, BIT[family]);
      return undefined;
    });
    const both = BIT.ipv4 | BIT.ipv6;
    // Joining cannot make a block one-family: with none so far, there is nothing to join.
    let oneFamily = false;
    for (const b of byPath.values()) if (b.families !== both) oneFamily = true;
    if (!oneFamily) return [];
    const seen = new Map<string, Block>();
    for (const { origin, families } of byPath.values()) add(seen, origin.path.join('/'), origin, families);
    return [...seen.values()].filter((e) => e.families !== both).map(({ origin, families }) => {
      const only = families === BIT.ipv4 ? 'IPv4' : 'IPv6';
      const other = only === 'IPv4' ? 'IPv6' : 'IPv4';
      return diag('family-asymmetry', origin.loc, `'${origin.label}' blocks in ${only} only: the same traffic over ${other} is not blocked; add the ${other} addresses (or remove \`family\`), or suppress this with a reason`, undefined, origin.path);
    });
  },
};
