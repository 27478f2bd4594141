import type { SnatRule } from '../model/policy.js';
import { familyRecord } from '../model/family.js';
import { accept, fallbackRule, rule, type Family, type Match, type Origin, type PortRange, type Target } from '../model/ir.js';
import type { Path, PathSegment } from '../model/path.js';
import { formatLocation } from '../diagnostics/diagnostic.js';
import { ofFamily, type Cidr } from '../values/addresses.js';
import { EarliestMeeting } from '../analysis/order-sweep.js';
import { readPort } from '../values/ports.js';
import type { RulesetBuilder } from './builder.js';
import type { Context } from './context.js';
import { ofThisHost, type NatCatches } from './redirects.js';
import { expand, selector, selectorBoxes, type Selector } from './selector.js';
import { logRule, resolveLog, type ResolvedLog } from './verdict.js';


/**
 * One address per family, each a single host (a translation's target). Undefined after a
 * diagnostic; the map has the families given.
 */
function targetsByFamily(ctx: Context, cidrs: readonly Cidr[], path: Path, what: string): Map<Family, Cidr> | undefined {
  const out = new Map<Family, Cidr>();
  for (const c of cidrs) {
    if (c.prefix !== familyRecord(c.family).bits) return void ctx.report('forward-address', path, `${what} '${c.text}' must be a single address, not a network`);
    if (out.has(c.family)) return void ctx.report('forward-address', path, `give at most one ${familyRecord(c.family).label} address in ${what}; a translation has one target per family`);
    out.set(c.family, c);
  }
  return out;
}

/** A host's address without its prefix length, as --to-destination and --to-source take it. */
const bare = (c: Cidr): string => c.text.replace(/\/\d+$/, '');

/**
 * The families of a translation: those of its selector that have a target. Addresses the rule
 * names in a family without a target are an error, never a silently missing rule.
 */
function familiesWithTarget(ctx: Context, sel: Selector, targets: Map<Family, Cidr>, path: Path, key: PathSegment, named: readonly (readonly Cidr[] | null)[]): readonly Family[] | undefined {
  const families = sel.families.filter((f) => targets.has(f));
  const orphan = sel.families.find((f) => !targets.has(f) && named.some((list) => (ofFamily(list, f)?.length ?? 0) > 0));
  if (orphan !== undefined) return void ctx.report('family-mismatch', [...path, key], `this rule names ${familyRecord(orphan).label} addresses but gives no ${familyRecord(orphan).label} address to translate to; add one, or remove those addresses`);
  if (families.length === 0) return void ctx.report('family-mismatch', [...path, key], `the address to translate to is of no family the rule matches in`);
  return families;
}

/**
 * `masquerade:` and `snat:`, in nat POSTROUTING: connections leaving by `out` take its address,
 * or a fixed one. Within a section the first rule that matches applies, as written; a rule that
 * meets one of the other section is an error, since which applies would be a matter of section
 * order, which the author never wrote.
 */
export function sourceNatSection(ctx: Context, b: RulesetBuilder): void {
  const masqueraded = new EarliestMeeting<{ readonly path: Path; readonly label: string }>();
  for (const key of ['masquerade', 'snat'] as const) {
    (ctx.policy[key] ?? []).forEach((r, i) => {
      const path: Path = [key, i];
      const origin = ctx.origin(path, r.name);
      if (r.name !== undefined && !ctx.ruleName(origin.label, path, 'name')) return;
      const outIface = ctx.iface(r.out, path, false, 'out');
      const src = ctx.addrs(r.from, path, 'from');
      const dst = ctx.addrs(r.to, path, 'to');
      const toSource = key === 'snat' ? ctx.addrs((r as SnatRule)['to-source'], path, 'to-source') : null;
      if (outIface === undefined || src === undefined || dst === undefined || toSource === undefined) return;
      const sel = selector(ctx, { protos: null, ports: null, src, dst, outIface }, r.family, path, 'from', 'to');
      if (!sel) return;
      const boxes = selectorBoxes(sel);
      if (key === 'masquerade') masqueraded.add(boxes, { path, label: origin.label });
      const clash = key === 'snat' ? masqueraded.earliest(boxes) : undefined;
      if (clash) {
        return void ctx.report('redirect-duplicate', path, `snat '${origin.label}' catches connections that masquerade '${clash.label}' (${formatLocation(ctx.loc(clash.path))}) also catches, and only one can translate them; make their \`out\`, \`from\` or \`to\` disjoint`, [ctx.related(clash.path, 'the masquerade rule')]);
      }
      let families = sel.families;
      const targets = toSource === null ? undefined : targetsByFamily(ctx, toSource, [...path, 'to-source'], '`to-source`');
      if (toSource !== null) {
        if (targets === undefined) return;
        const chosen = familiesWithTarget(ctx, sel, targets, path, 'to-source', [src, dst]);
        if (chosen === undefined) return;
        families = chosen;
      }
      for (const f of families) {
        const target: Target = targets === undefined ? { kind: 'masquerade' } : { kind: 'snat', to: bare(targets.get(f)!) };
        b.add(f, 'nat', 'POSTROUTING', 'main', expand(sel, f).map((m) => rule(m, target, origin)));
      }
    });
  }
}

/**
 * `forwards:`: DNAT in nat PREROUTING to an internal host, and in filter FORWARD the accept of
 * exactly the connections that were forwarded (conntrack's DNAT state and original port), so
 * the internal port is not open to anyone who routes to it directly. The accept goes after the
 * `forward:` rules, as a redirect's does after the inbound rules: a deny written there applies
 * to forwarded connections too.
 */
export function forwardsSection(ctx: Context, b: RulesetBuilder, caught: NatCatches): void {
  const ownAddresses = ctx.addrs(ctx.policy.host?.addresses, ['host', 'addresses']);
  (ctx.policy.forwards ?? []).forEach((r, i) => {
    const path: Path = ['forwards', i];
    const origin = ctx.origin(path, r.name);
    if (r.name !== undefined && !ctx.ruleName(origin.label, path, 'name')) return;
    const protos = ctx.protos(r.proto ?? 'tcp', true, path, 'proto');
    const port = readPort(r.port);
    if (typeof port === 'string') return void ctx.report('port-invalid', [...path, 'port'], port);
    const to = ctx.addrs(r.to, path, 'to');
    const src = ctx.addrs(r.from, path, 'from');
    const local = ctx.addrs(r['local-address'], path, 'local-address');
    const inIface = ctx.iface(r.interface, path, false, 'interface');
    const log = r.log === undefined ? null : resolveLog(ctx, r.log, [...path, 'log'], 'accept');
    if (protos === undefined || to === undefined || src === undefined || local === undefined || inIface === undefined || log === undefined || to === null) return;
    if (local !== null && !ofThisHost(ctx, local, [...path, 'local-address'], 'a forward')) return;
    if (local === null && inIface === null) {
      return void ctx.report('schema-missing-key', path, `a forward of port ${r.port} with neither \`interface\` nor \`local-address\` would also catch connections through this host to port ${r.port} of any address; say which interface (your uplink) or address of this host clients connect to`);
    }
    const targets = targetsByFamily(ctx, to, [...path, 'to'], '`to`');
    if (targets === undefined) return;
    const dsts = local ?? forwardedAddresses(ctx, ownAddresses ?? null, targets, path, r.port);
    const mine = [...targets.values()].find((t) => (ownAddresses ?? []).some((o) => o.family === t.family && o.interval[0] <= t.interval[0] && t.interval[1] <= o.interval[1]));
    if (mine !== undefined) {
      return void ctx.report('forward-address', [...path, 'to'], `'${bare(mine)}' is this host's own address (\`host.addresses\`); a connection to a port of this host is a redirect: write it under \`redirects:\``, [ctx.related(['host', 'addresses'], "this host's addresses")]);
    }
    const hairpin = r.hairpin;
    if (hairpin !== undefined && local === null) {
      return void ctx.report('forward-address', [...path, 'hairpin'], 'a hairpin catches inside clients by the public address they connect to: give `local-address` (the address of this host that the forward is reached by)');
    }
    const hairFrom = hairpin === undefined ? null : ctx.addrs(hairpin.from, [...path, 'hairpin'], 'from');
    const hairIface = hairpin === undefined ? null : ctx.iface(hairpin.interface, [...path, 'hairpin'], false, 'interface');
    if (hairFrom === undefined || hairIface === undefined) return;
    const sel = selector(ctx, { protos: protos!, ports: [port], src, dst: dsts, inIface }, r.family, path, 'from', 'local-address');
    if (!sel) return;
    const families = familiesWithTarget(ctx, sel, targets, path, 'to', [src, local, hairFrom]);
    if (families === undefined) return;
    const boxes = selectorBoxes(sel);
    const clash = caught.earliest(boxes);
    if (clash) {
      return void ctx.report('redirect-duplicate', path, `forward '${origin.label}' catches connections already translated by '${clash.label}' (${formatLocation(ctx.loc(clash.path))}), so it would never apply to them; make their ports, interfaces or addresses disjoint`, [ctx.related(clash.path, 'the earlier redirect or forward')]);
    }
    caught.add(boxes, { path, label: origin.label });
    const hair = hairFrom === null ? null : { from: hairFrom, iface: hairIface };
    for (const f of families) forwardRules(ctx, b, { path, name: r.name, origin, sel, host: targets.get(f)!, port, toPort: r['to-port'], local: dsts, log, hairpin: hair }, f);
  });
}

/**
 * What a forward without `local-address` catches: its port on this host's addresses
 * (`host.addresses`), not on every address, or a client routed through this host to another
 * host's port would be translated to the forward's target. With no address of this host in a
 * family the forward has a target in, every address, and a warning that says so.
 */
function forwardedAddresses(ctx: Context, own: readonly Cidr[] | null, targets: Map<Family, Cidr>, path: Path, port: number | string): readonly Cidr[] | null {
  const missing = [...targets.keys()].filter((f) => (ofFamily(own, f)?.length ?? 0) === 0);
  if (missing.length === 0) return own;
  const labels = missing.map((f) => familyRecord(f).label).join(' and ');
  ctx.report('forward-any-address', path, `this forward has no \`local-address\` and \`host.addresses\` has no ${labels} address, so it catches port ${port} of every ${labels} address arriving by its interface, connections routed through this host to other hosts included; give \`local-address\`, or this host's addresses in \`host.addresses\``);
  return null;
}

/** A port forward as read, in one family's terms once `host` is its target there. */
interface Forward {
  readonly path: Path;
  readonly name: string | undefined;
  readonly origin: Origin;
  readonly sel: Selector;
  readonly host: Cidr;
  readonly port: PortRange;
  readonly toPort: number | undefined;
  readonly local: readonly Cidr[] | null;
  readonly log: ResolvedLog | null;
  readonly hairpin: { readonly from: readonly Cidr[]; readonly iface: string | null } | null;
}

/** One family's rules of a port forward: the DNAT, FORWARD's accept of what it forwarded, and the hairpin's three. */
function forwardRules(ctx: Context, b: RulesetBuilder, fw: Forward, f: Family): void {
  const target: Target = fw.toPort === undefined ? { kind: 'dnat', to: bare(fw.host) } : { kind: 'dnat', to: bare(fw.host), toPort: fw.toPort };
  // The connections as FORWARD sees them: to the internal host's port, translated from this one.
  const forwarded: Match[] = [{ kind: 'ctstate', states: ['DNAT'], negate: false }, { kind: 'ctorigdstport', ports: fw.port }];
  const inside: Selector = { ...fw.sel, families: [f], dst: [fw.host], ports: [fw.toPort === undefined ? fw.port : { lo: fw.toPort, hi: fw.toPort }] };
  const fromHere = (s: Selector): Match[][] => expand(s, f).flatMap((m) => origDsts(fw.local, f).map((o) => [...m, ...forwarded, ...o]));
  b.add(f, 'nat', 'PREROUTING', 'main', expand(fw.sel, f).map((m) => rule(m, target, fw.origin)));
  const accepted = fromHere(inside);
  if (fw.log) b.add(f, 'filter', 'FORWARD', 'redirected', accepted.map((m) => logRule(m, fw.log!, fw.origin)));
  b.add(f, 'filter', 'FORWARD', 'redirected', accepted.map((m) => fallbackRule(m, accept, ctx.origin(fw.path, fw.name, 'forwarded'))));
  if (fw.hairpin === null) return;
  // Inside clients: translated too, and masqueraded, or the internal host would answer them
  // directly and their replies would not match the connection they opened.
  const hairOrigin = ctx.origin(fw.path, fw.name, 'hairpin');
  const fromInside: Selector = { ...fw.sel, families: [f], src: fw.hairpin.from, inIface: fw.hairpin.iface };
  b.add(f, 'nat', 'PREROUTING', 'main', expand(fromInside, f).map((m) => rule(m, target, hairOrigin)));
  const insideBack: Selector = { ...inside, src: fw.hairpin.from, inIface: fw.hairpin.iface };
  b.add(f, 'filter', 'FORWARD', 'redirected', fromHere(insideBack).map((m) => fallbackRule(m, accept, hairOrigin)));
  b.add(f, 'nat', 'POSTROUTING', 'allow', expand({ ...insideBack, inIface: null }, f).map((m) => rule([...m, ...forwarded], { kind: 'masquerade' }, hairOrigin)));
}

/** Conntrack's original destination: each of the forward's own addresses (any, with none given). */
function origDsts(local: readonly Cidr[] | null, f: Family): Match[][] {
  const mine = ofFamily(local, f);
  return mine === null || mine.length === 0 ? [[]] : mine.map((c) => [{ kind: 'ctorigdst', cidr: c.text }]);
}
