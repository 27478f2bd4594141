import { familyRecord } from '../model/family.js';
import { rule, type Family, type Origin, type RouteEntry } from '../model/ir.js';
import type { Path } from '../model/path.js';
import type { RulesetBuilder } from './builder.js';
import { ofFamily, type Cidr } from '../values/addresses.js';
import type { Context } from './context.js';
import { expand, selector } from './selector.js';

/** The tables the kernel keeps for itself (rt_tables): routing a mark through one replaces the host's own routes. */
const RESERVED_TABLES: Readonly<Record<number, string>> = { 253: 'default', 254: 'main', 255: 'local' };

/** mangle MARK per direction, plus the `ip rule`/`ip route` entries a restore file cannot carry. */
export function marksSection(ctx: Context, b: RulesetBuilder): RouteEntry[] {
  const routes: RouteEntry[] = [];
  const defaults = new Map<string, { readonly route: string; readonly path: Path }>();
  (ctx.policy.marks ?? []).forEach((m, i) => {
    const path: Path = ['marks', i];
    const origin = ctx.origin(path, m.name);
    if (m.name !== undefined && !ctx.ruleName(origin.label, path, 'name')) return;
    const traffic = m.traffic ?? 'all';
    if (m.table === undefined && (m.via !== undefined || m.dev !== undefined || m.routes !== undefined)) {
      ctx.report('schema-missing-key', [...path, m.via !== undefined ? 'via' : m.dev !== undefined ? 'dev' : 'routes'], '`via`, `dev` and `routes` describe the routes of a routing table; add `table: N` or remove them');
      return;
    }
    if (m.table !== undefined && RESERVED_TABLES[m.table] !== undefined) {
      ctx.report('table-reserved', [...path, 'table'], `table ${m.table} is the kernel's ${RESERVED_TABLES[m.table]} table: its default route is the host's own, which apply.sh would replace; pick a table of your own (1 to 252, or above 255)`);
      return;
    }
    if (m.interface !== undefined && traffic !== 'incoming') {
      ctx.report('interface-hook', [...path, 'interface'], `an incoming interface cannot match locally generated traffic (mangle OUTPUT), and traffic is '${traffic}'; set \`traffic: incoming\` or remove \`interface\``);
      return;
    }
    const ports = ctx.ports(m.port, [...path, 'port']);
    const protos = ctx.protos(m.proto, m.port !== undefined, [...path, m.proto !== undefined ? 'proto' : 'port']);
    const src = ctx.addrs(m.from, [...path, 'from']);
    const dst = ctx.addrs(m.to, [...path, 'to']);
    const via = ctx.addrs(m.via, [...path, 'via']);
    const inIface = ctx.iface(m.interface, [...path, 'interface']);
    const dev = ctx.iface(m.dev, [...path, 'dev']);
    if ([ports, protos, src, dst, via, inIface, dev].includes(undefined)) return;
    const sel = selector(ctx, { protos: protos!, ports: ports!, icmpType: m['icmp-type'], src: src!, dst: dst!, inIface: inIface! }, m.family, path, 'from', 'to');
    if (!sel) return;
    // Each route read once, at the route, for every family: its errors are said there, once.
    const read = (m.routes ?? []).map((r, k): RouteRead => {
      const at: Path = [...path, 'routes', k];
      return { to: ctx.addrs(r.to, at, 'to'), via: ctx.addrs(r.via, at, 'via'), dev: ctx.iface(r.dev, at, false, 'dev'), path: at };
    });
    const stray = read.findIndex((r) => (r.to ?? []).some((c) => !sel.families.includes(c.family)));
    if (stray !== -1) return void ctx.report('family-mismatch', [...path, 'routes', stray, 'to'], 'this route is of a family the mark does not set (its addresses or `family` leave it out), so no marked packet would ever use it; remove it or widen the mark');
    const target = { kind: 'mark', mark: m.mark } as const;
    for (const f of sel.families) {
      const rules = expand(sel, f).map((ms) => rule(ms, target, origin));
      if (traffic !== 'local') b.add(f, 'mangle', 'PREROUTING', 'main', rules);
      if (traffic !== 'incoming') b.add(f, 'mangle', 'OUTPUT', 'main', rules);
      if (m.table === undefined) continue;
      const gateways = ofFamily(via!, f) ?? [];
      const bad = gateways.find((g) => g.prefix !== familyRecord(f).bits);
      if (gateways.length > 1 || bad) {
        ctx.report('address-invalid', [...path, 'via'], bad ? `gateway '${bad.text}' must be a single address, not a network` : `give at most one ${f} gateway in \`via\``);
        continue;
      }
      const gateway = gateways[0]?.text.replace(/\/\d+$/, '');
      if (gateway !== undefined || dev) {
        // One table has one default route: a second mark routing it elsewhere would silently replace the first.
        const route = `${gateway ?? ''} ${dev ?? ''}`;
        const key = `${f}/${m.table}`;
        const first = defaults.get(key);
        if (first && first.route !== route) {
          ctx.report('route-conflict', [...path, gateway !== undefined ? 'via' : 'dev'], `table ${m.table} already has another ${f} default route (from the mark above); give each route its own table, or the same gateway and device`, [ctx.related(first.path, 'the first default route of that table')]);
          continue;
        }
        if (!first) defaults.set(key, { route, path: [...path, 'table'] });
      }
      routes.push({ kind: 'route', family: f, mark: m.mark, table: m.table, ...(gateway !== undefined ? { via: gateway } : {}), ...(dev ? { dev } : {}), origin });
      for (const r of read) moreRoutes(ctx, routes, defaults, m.mark, m.table!, f, r, origin);
    }
  });
  return routes;
}

/** A route of a mark as read from the policy (undefined: refused, said at the route). */
interface RouteRead {
  readonly to: readonly Cidr[] | null | undefined;
  readonly via: readonly Cidr[] | null | undefined;
  readonly dev: string | null | undefined;
  readonly path: Path;
}

/**
 * A table's routes beside its default route (the VPN's own network, the LAN kept local). `ip
 * route` prints a host route without its length, and apply.sh compares what it prints.
 */
function moreRoutes(ctx: Context, routes: RouteEntry[], seen: Map<string, { readonly route: string; readonly path: Path }>, mark: number, table: number, f: Family, r: RouteRead, origin: Origin): void {
  const { to, via, dev, path } = r;
  if (to === undefined || via === undefined || dev === undefined || to === null) return;
  const gateways = ofFamily(via, f) ?? [];
  const bits = familyRecord(f).bits;
  if (gateways.length > 1 || gateways.some((g) => g.prefix !== bits)) return void ctx.report('address-invalid', [...path, 'via'], `give at most one ${familyRecord(f).label} gateway in \`via\`, a single address`);
  const gateway = gateways[0]?.text.replace(/\/\d+$/, '');
  for (const c of ofFamily(to, f) ?? []) {
    const dest = c.prefix === bits ? c.text.replace(/\/\d+$/, '') : c.text;
    const route = `${gateway ?? ''} ${dev ?? ''}`;
    const key = `${f}/${table}/${dest}`;
    const first = seen.get(key);
    if (first && first.route !== route) {
      ctx.report('route-conflict', [...path, 'to'], `table ${table} already has another route to ${dest}; give it one gateway and device`, [ctx.related(first.path, 'the first route to it')]);
      continue;
    }
    if (!first) seen.set(key, { route, path: [...path, 'to'] });
    routes.push({ kind: 'route', family: f, mark, table, to: dest, ...(gateway !== undefined ? { via: gateway } : {}), ...(dev ? { dev } : {}), origin });
  }
}
