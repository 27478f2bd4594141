import { FAMILIES, familyRecord } from '../model/family.js';
import { HELPERS, isHelperName, type HelperName } from '../model/helpers.js';
import { accept, drop, lazyOrigin, rule, type Family, type L4, type Match, type Target } from '../model/ir.js';
import type { FamilyChoice } from '../model/policy.js';
import type { Path } from '../model/path.js';
import { ofFamily, type Cidr } from '../values/addresses.js';
import { chunkPorts } from '../model/multiport.js';
import type { RulesetBuilder } from './builder.js';
import type { Context } from './context.js';
import { isL4 } from './protocols.js';
import { expand, selector, type Selector } from './selector.js';

const UNTRACKED_STATE: Match = { kind: 'ctstate', states: ['UNTRACKED'], negate: false };

/** Whether the policy routes connections through this host (a notrack of "any address" would catch them too). */
const routesThrough = (ctx: Context): boolean =>
  [ctx.policy.forwards, ctx.policy.masquerade, ctx.policy.snat, ctx.policy.forward].some((l) => (l?.length ?? 0) > 0);

/** The raw table (`notrack:`, `helpers:`) and mangle's early drop of INVALID packets. */
export function rawSection(ctx: Context, b: RulesetBuilder): void {
  helpersSection(ctx, b);
  notrackSection(ctx, b);
  if (ctx.policy.defaults?.['drop-invalid'] === true) {
    const origin = lazyOrigin(['defaults', 'drop-invalid'], 'ipfence: drop invalid', ctx.source);
    for (const rec of FAMILIES) b.add(rec.family, 'mangle', 'PREROUTING', 'state', [rule([{ kind: 'ctstate', states: ['INVALID'], negate: false }], drop, origin)]);
  }
}

function helpersSection(ctx: Context, b: RulesetBuilder): void {
  (ctx.policy.helpers ?? []).forEach((h, i) => {
    const path: Path = ['helpers', i];
    const origin = ctx.origin(path, h.name);
    if (h.name !== undefined && !ctx.ruleName(origin.label, path, 'name')) return;
    // The schema's enum has refused any other name; this keeps `toString` from reaching a lookup.
    if (!isHelperName(h.helper)) return;
    const name = h.helper;
    const [proto, port] = HELPERS[name].control;
    const ports = h.port === undefined ? [{ lo: port, hi: port }] : ctx.ports(h.port, path, 'port');
    const protos = h.proto === undefined ? [proto] : ctx.protos(h.proto, true, path, 'proto');
    const src = ctx.addrs(h.from, path, 'from');
    const dst = ctx.addrs(h.to, path, 'to');
    const direction = h.direction ?? 'in';
    const iface = ctx.iface(h.interface, path, false, 'interface');
    if (ports === undefined || ports === null || protos === undefined || src === undefined || dst === undefined || iface === undefined) return;
    if (iface !== null && direction === 'both') return void ctx.report('interface-hook', [...path, 'interface'], 'an interface is incoming for `direction: in` and outgoing for `direction: out`; choose one direction, or remove `interface`');
    const l4 = (protos ?? [proto]).filter(isL4);
    const nowhere = l4.find((p) => !FAMILIES.some((r) => r.helpers[name].includes(p)));
    if (nowhere !== undefined) {
      const has = [...new Set(FAMILIES.flatMap((r) => r.helpers[name]))];
      return void ctx.report('helper-unsupported', [...path, h.proto === undefined ? 'helper' : 'proto'], `the kernel's ${name} helper watches ${has.join(' and ')} control connections, not ${nowhere} (iptables-restore refuses \`CT --helper ${name}\` on them); write \`proto: ${has.length === 1 ? has[0] : `[${has.join(', ')}]`}\` or remove \`proto\``);
    }
    // Incoming control connections are those to this host's own addresses unless `to` says
    // otherwise: of "any address", raw PREROUTING would also catch connections routed through
    // this host, and whoever opens one (a LAN client, or a page it loads) would have the helper
    // open RELATED connections to any of its ports, past `forward:` (the established accept).
    const own = h.to === undefined && direction !== 'out' ? ctx.addrs(ctx.policy.host?.addresses, ['host', 'addresses']) : dst;
    if (own === undefined) return;
    if (own === null && direction !== 'out' && routesThrough(ctx)) {
      return void ctx.report('schema-missing-key', path, `this host forwards connections, and the ${h.helper} helper would also watch the ones through it, letting whoever opens one have connections to any of its ports accepted as RELATED, past \`forward:\`; give \`to\` (this host's addresses) or list them in \`host.addresses\``);
    }
    const target: Target = { kind: 'helper', helper: name };
    for (const hook of direction === 'both' ? (['PREROUTING', 'OUTPUT'] as const) : direction === 'in' ? (['PREROUTING'] as const) : (['OUTPUT'] as const)) {
      // Outgoing control connections are this host's own: `to` is the server, any by default.
      const sel = selector(ctx, { protos, ports, src, dst: hook === 'PREROUTING' ? own : dst, inIface: hook === 'PREROUTING' ? iface : null, outIface: hook === 'OUTPUT' ? iface : null }, h.family, path, 'from', 'to');
      if (!sel) return;
      const families = helperFamilies(ctx, name, l4, sel.families, { family: h.family, src, dst }, path);
      if (families === undefined) return;
      for (const f of families) b.add(f, 'raw', hook, 'main', expand(sel, f).map((m) => rule(m, target, origin)));
    }
  });
}

/**
 * The families of a helper rule in which the kernel has that helper for its protocols. A family
 * the author chose (`family`, or addresses of it in `from` or `to`) without one is an error, as
 * iptables-restore would refuse the rule; one chosen by nothing written (no addresses, or
 * `host.addresses`') is left out, so `{ helper: irc }` is IPv4's irc helper.
 */
function helperFamilies(ctx: Context, name: HelperName, protos: readonly L4[], families: readonly Family[], written: { readonly family: FamilyChoice | undefined; readonly src: readonly Cidr[] | null; readonly dst: readonly Cidr[] | null }, path: Path): readonly Family[] | undefined {
  const has = (f: Family): boolean => protos.every((p) => familyRecord(f).helpers[name].includes(p));
  const kept = families.filter(has);
  const named = (f: Family): 'from' | 'to' | null => ((ofFamily(written.src, f)?.length ?? 0) > 0 ? 'from' : (ofFamily(written.dst, f)?.length ?? 0) > 0 ? 'to' : null);
  const refused = families.find((f) => !has(f) && (written.family !== undefined || named(f) !== null || kept.length === 0));
  if (refused === undefined) return kept;
  const rec = familyRecord(refused);
  const where = FAMILIES.filter((r) => protos.every((p) => r.helpers[name].includes(p)));
  const key = written.family !== undefined ? 'family' : named(refused) ?? 'helper';
  const fix =
    where.length === 0 ? 'remove this helper'
    : key === 'family' ? `set \`family: ${where[0]!.family}\``
    : key === 'helper' ? `give \`to\` or \`from\` addresses of ${where.map((r) => r.label).join(' or ')}`
    : `remove its ${rec.label} addresses (the kernel has it for ${where.map((r) => r.label).join(' and ')} only)`;
  ctx.report('helper-unsupported', [...path, key], `the kernel has no ${name} helper for ${rec.label} ${protos.join(' and ')} (${rec.restoreCommand} refuses \`CT --helper ${name}\`); ${fix}`);
  return undefined;
}

/**
 * A service's packets that conntrack does not follow: queries to it (raw PREROUTING) and its
 * replies (raw OUTPUT, by source port). The replies are then no established connection, so
 * filter OUTPUT accepts them by the same description: from this host's addresses, to the
 * queries' sources, by their interface. A source port is no proof of a reply (any local
 * program may bind it), so that accept comes after the users' blocks and the outbound rules
 * (the `untracked` group), which thus still refuse what they name.
 */
function notrackSection(ctx: Context, b: RulesetBuilder): void {
  (ctx.policy.notrack ?? []).forEach((n, i) => {
    const path: Path = ['notrack', i];
    const origin = ctx.origin(path, n.name);
    if (n.name !== undefined && !ctx.ruleName(origin.label, path, 'name')) return;
    const ports = ctx.ports(n.port, path, 'port');
    const protos = ctx.protos(n.proto ?? 'udp', true, path, 'proto');
    const src = ctx.addrs(n.from, path, 'from');
    const written = ctx.addrs(n.to, path, 'to');
    const own = n.to === undefined ? ctx.addrs(ctx.policy.host?.addresses, ['host', 'addresses']) : written;
    const iface = ctx.iface(n.interface, path, false, 'interface');
    if (ports === undefined || ports === null || protos === undefined || src === undefined || written === undefined || own === undefined || iface === undefined) return;
    if (own === null && routesThrough(ctx)) {
      return void ctx.report('schema-missing-key', path, "this host forwards connections, and raw's notrack would also catch the ones through it to this port, which then skip NAT and the stateful FORWARD rules; give `to` (this host's addresses) or list them in `host.addresses`");
    }
    const sel = selector(ctx, { protos, ports, src, dst: own, inIface: iface }, n.family, path, 'from', 'to');
    if (!sel) return;
    const replies: Selector = { ...sel, src: own, dst: src, inIface: null, outIface: iface, ports: null };
    const notrack: Target = { kind: 'notrack' };
    for (const f of sel.families) {
      b.add(f, 'raw', 'PREROUTING', 'main', expand(sel, f).map((m) => rule(m, notrack, origin)));
      const back = fromPorts(replies, f, (protos ?? []).filter(isL4), sel.ports!);
      b.add(f, 'raw', 'OUTPUT', 'main', back.map((m) => rule(m, notrack, ctx.origin(path, n.name, 'replies'))));
      b.add(f, 'filter', 'OUTPUT', 'untracked', back.map((m) => rule([...m, UNTRACKED_STATE], accept, ctx.origin(path, n.name, 'replies'))));
    }
  });
}

/** A selector's matches with source ports instead of destination ports (a service's replies). */
function fromPorts(sel: Selector, f: Family, protos: readonly L4[], ports: readonly { lo: number; hi: number }[]): Match[][] {
  const out: Match[][] = [];
  for (const proto of protos) {
    for (const m of expand({ ...sel, protos: [proto] }, f)) {
      for (const chunk of chunkPorts(ports)) out.push([...m, { kind: 'sports', proto, ports: chunk }]);
    }
  }
  return out;
}
