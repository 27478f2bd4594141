import { familyRecord } from '../model/family.js';
import { rule, type RouteEntry } from '../model/ir.js';
import type { Path } from '../model/path.js';
import type { RulesetBuilder } from './builder.js';
import { ofFamily } from '../packet/addresses.js';
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
    if (m.table === undefined && (m.via !== undefined || m.dev !== undefined)) {
      ctx.report('schema-missing-key', [...path, m.via !== undefined ? 'via' : 'dev'], '`via` and `dev` describe the route of a routing table; add `table: N` or remove them');
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
    }
  });
  return routes;
}
