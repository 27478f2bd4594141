import { accept, rule, type Match, type RouteEntry } from '../ir/ir.js';
import type { Path } from '../load/source.js';
import { formatLocation } from '../diagnostics/diagnostic.js';
import type { RulesetBuilder } from './builder.js';
import { ofFamily, type Context } from './context.js';
import { parsePort } from './ports.js';
import { expand, overlapFamilies, selector, type Selector } from './selector.js';
import { resolveAction, verdictRules } from './verdict.js';

/**
 * REDIRECT in nat PREROUTING (and nat OUTPUT -o lo for local clients). Filtering never happens in
 * nat: the filter table accepts what was redirected (conntrack DNAT + original port) and, when the
 * target is hidden, denies connections that reached the target port without the redirect.
 */
export function redirectsSection(ctx: Context, b: RulesetBuilder): void {
  const seen: { sel: Selector; path: Path; label: string }[] = [];
  (ctx.policy.redirects ?? []).forEach((r, i) => {
    const path: Path = ['redirects', i];
    const origin = ctx.origin(path, r.name);
    if (r.name !== undefined && !ctx.text(origin.label, [...path, 'name'], 'the rule name', 255)) return;
    const protos = ctx.protos(r.proto ?? 'tcp', true, [...path, 'proto']);
    const port = parsePort(r.port);
    if (!port.ok) ctx.report('port-invalid', [...path, 'port'], port.reason);
    const src = ctx.addrs(r.from, [...path, 'from']);
    const dst = ctx.addrs(r.to, [...path, 'to']);
    const inIface = ctx.iface(r.interface, [...path, 'interface']);
    if (!port.ok || [protos, src, dst, inIface].includes(undefined)) return;
    const sel = selector(ctx, { protos: protos!, ports: [port.range], src: src!, dst: dst!, inIface: inIface! }, r.family, { rule: path, src: [...path, 'from'], dst: [...path, 'to'] });
    if (!sel) return;
    const clash = seen.find((s) => overlapFamilies(s.sel, sel).length > 0);
    if (clash) {
      ctx.report('redirect-duplicate', path, `redirect '${origin.label}' catches connections already redirected by '${clash.label}' (${formatLocation(ctx.loc(clash.path))}), so it would never apply to them; make their ports, interfaces or addresses disjoint`, [ctx.related(clash.path, 'the earlier redirect')]);
      return;
    }
    seen.push({ sel, path, label: origin.label });
    const target = { kind: 'redirect', toPort: r['to-port'] } as const;
    const local: Selector = { ...sel, src: null, inIface: null, outIface: 'lo' };
    const hideVerdict = resolveAction(ctx, 'deny', 'deny');
    for (const f of sel.families) {
      b.add(f, 'nat', 'PREROUTING', 'main', expand(sel, f).map((m) => rule(m, target, origin)));
      if (r.local) b.add(f, 'nat', 'OUTPUT', 'main', expand(local, f).map((m) => rule(m, target, ctx.origin(path, r.name, 'local'))));
      const toTarget: Selector = { ...sel, dst: null, inIface: null, ports: [{ lo: r['to-port'], hi: r['to-port'] }] };
      const redirected: Match[] = [{ kind: 'ctstate', states: ['DNAT'], negate: false }, { kind: 'ctorigdstport', ports: port.range }];
      b.add(f, 'filter', 'INPUT', 'allow', expand(toTarget, f).map((m) => rule([...m, ...redirected], accept, ctx.origin(path, r.name, 'redirected'))));
      if (r['hide-target']) {
        // With local: true, local clients also go through the redirect, so the target is hidden
        // from loopback too (ahead of the loopback accept); otherwise only from the network.
        const hidden: Selector = { ...toTarget, src: null };
        const notRedirected: Match = { kind: 'ctstate', states: ['DNAT'], negate: true };
        b.add(f, 'filter', 'INPUT', r.local ? 'hide-all' : 'hide-remote', expand(hidden, f).flatMap((m) => verdictRules([...m, notRedirected], hideVerdict, ctx.origin(path, r.name, 'hide target'))));
      }
    }
  });
}

/** mangle MARK per direction, plus the `ip rule`/`ip route` entries a restore file cannot carry. */
export function marksSection(ctx: Context, b: RulesetBuilder): RouteEntry[] {
  const routes: RouteEntry[] = [];
  (ctx.policy.marks ?? []).forEach((m, i) => {
    const path: Path = ['marks', i];
    const origin = ctx.origin(path, m.name);
    if (m.name !== undefined && !ctx.text(origin.label, [...path, 'name'], 'the rule name', 255)) return;
    const traffic = m.traffic ?? 'all';
    if (m.table === undefined && (m.via !== undefined || m.dev !== undefined)) {
      ctx.report('schema-missing-key', [...path, m.via !== undefined ? 'via' : 'dev'], '`via` and `dev` describe the route of a routing table; add `table: N` or remove them');
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
    const sel = selector(ctx, { protos: protos!, ports: ports!, icmpType: m['icmp-type'], src: src!, dst: dst!, inIface: inIface! }, m.family, { rule: path, src: [...path, 'from'], dst: [...path, 'to'] });
    if (!sel) return;
    const target = { kind: 'mark', mark: m.mark } as const;
    for (const f of sel.families) {
      const rules = expand(sel, f).map((ms) => rule(ms, target, origin));
      if (traffic !== 'local') b.add(f, 'mangle', 'PREROUTING', 'main', rules);
      if (traffic !== 'incoming') b.add(f, 'mangle', 'OUTPUT', 'main', rules);
      if (m.table === undefined) continue;
      const gateways = ofFamily(via!, f) ?? [];
      const bad = gateways.find((g) => g.prefix !== (f === 'ipv4' ? 32 : 128));
      if (gateways.length > 1 || bad) {
        ctx.report('address-invalid', [...path, 'via'], bad ? `gateway '${bad.text}' must be a single address, not a network` : `give at most one ${f} gateway in \`via\``);
        continue;
      }
      routes.push({ kind: 'route', family: f, mark: m.mark, table: m.table, ...(gateways[0] ? { via: gateways[0].text.replace(/\/\d+$/, '') } : {}), ...(dev ? { dev } : {}), origin });
    }
  });
  return routes;
}
