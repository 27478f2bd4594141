import { familyRecord } from '../model/family.js';
import type { Family, IntentTest, Match } from '../model/ir.js';
import type { Path } from '../model/path.js';
import type { IntentTestSpec } from '../model/policy.js';
import type { Context } from './context.js';
import { expand, selector } from './selector.js';
import { ownerId } from './users.js';

/** A new connection, not yet translated: what a test, like an author, means by "a connection". */
const NEW: Match = { kind: 'ctstate', states: ['NEW'], negate: false };

/**
 * The policy's `tests:` as the connections each describes, in the same vocabulary as rules (so
 * the checks answer them on the one packet model). Addresses and interfaces resolve as in rules;
 * a mistake in a test is reported at the test.
 */
export function testsSection(ctx: Context): IntentTest[] {
  const out: IntentTest[] = [];
  (ctx.policy.tests ?? []).forEach((t: IntentTestSpec, i) => {
    const path: Path = ['tests', i];
    const test = compileTest(ctx, t, path);
    if (test !== undefined) out.push(test);
  });
  return out;
}

function compileTest(ctx: Context, t: IntentTestSpec, path: Path): IntentTest | undefined {
  const owner = t.user ?? t.group;
  const direction = t.direction ?? (owner !== undefined ? 'out' : 'in');
  if (t.user !== undefined && t.group !== undefined) return void ctx.report('user-invalid', path, 'give at most one of `user` or `group`');
  if (owner !== undefined && direction !== 'out') return void ctx.report('schema-value', [...path, t.user !== undefined ? 'user' : 'group'], 'only connections this host opens (direction: out) have a local user; remove it or set `direction: out`');
  if (t.interface !== undefined && direction === 'forward') return void ctx.report('schema-value', [...path, 'interface'], 'a forwarded connection has two interfaces: give `in` and `out` instead of `interface`');
  for (const key of ['in', 'out'] as const) {
    if (t[key] !== undefined && direction !== 'forward') return void ctx.report('schema-value', [...path, key], `\`${key}\` is for forwarded connections (direction: forward); use \`interface\``);
  }
  const groups = ctx.portGroups(t, path);
  const src = ctx.addrs(t.from, path, 'from');
  const dst = ctx.addrs(t.to, path, 'to');
  const iface = (key: 'interface' | 'in' | 'out') => ctx.iface(t[key], path, false, key);
  const inIface = direction === 'in' ? iface('interface') : direction === 'forward' ? iface('in') : null;
  const outIface = direction === 'out' ? iface('interface') : direction === 'forward' ? iface('out') : null;
  const by = t.user !== undefined ? 'uid' : 'gid';
  const id = owner === undefined ? null : ownerId(ctx, owner, [...path, by === 'uid' ? 'user' : 'group'], by === 'uid' ? 'user' : 'group');
  if (groups === undefined || src === undefined || dst === undefined || inIface === undefined || outIface === undefined || id === undefined) return undefined;
  const hop = t['hop-limit'];
  const extra: Match[] = [NEW, ...(id === null ? [] : [{ kind: 'owner', by, id } as const])];
  // IPv6's hop limit: an IPv4 packet's TTL is asked by no rule ipfence writes.
  const hopOf = (f: Family): Match[] => (hop === undefined || !familyRecord(f).hopLimitAsked ? [] : [{ kind: 'hop-limit', eq: hop }]);
  const matches: Partial<Record<Family, Match[][]>> = {};
  for (const { protos, ports } of groups) {
    const sel = selector(ctx, { protos, ports, icmpType: t['icmp-type'] ?? null, src, dst, inIface, outIface }, t.family, path, 'from', 'to');
    if (sel === undefined) return undefined;
    if (hop !== undefined && !sel.families.some((f) => familyRecord(f).hopLimitAsked)) return void ctx.report('schema-value', [...path, 'hop-limit'], "hop-limit is IPv6's, and this test is of IPv4 only: remove it");
    for (const f of sel.families) (matches[f] ??= []).push(...expand(sel, f).map((m) => [...m, ...extra, ...hopOf(f)]));
  }
  return { kind: 'test', direction, expect: t.expect, matches, origin: ctx.origin(path, t.name) };
}
