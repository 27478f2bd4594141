import { accept, fallbackRule, rule, type Match } from '../model/ir.js';
import type { Path } from '../model/path.js';
import { formatLocation } from '../diagnostics/diagnostic.js';
import type { RulesetBuilder } from './builder.js';
import type { Context } from './context.js';
import type { Cidr } from '../values/addresses.js';
import { readPort } from '../values/ports.js';
import type { EarliestMeeting } from '../analysis/order-sweep.js';
import { expand, selector, selectorBoxes, type Selector } from './selector.js';
import { resolveAction, verdictRules } from './verdict.js';

/**
 * REDIRECT in nat PREROUTING (and nat OUTPUT -o lo for local clients). Filtering never happens in
 * nat: the filter table accepts what was redirected (conntrack DNAT + original port) and, when the
 * target is hidden, denies connections that reached the target port without the redirect.
 */

/**
 * A redirect's local-address must be this host's: REDIRECT only ever delivers here, and a router
 * redirecting connections meant for another host would answer them on its own port.
 */
export function ofThisHost(ctx: Context, addresses: readonly Cidr[], path: Path, what = 'a redirect'): boolean {
  const own = ctx.addrs(ctx.policy.host?.addresses, ['host', 'addresses']);
  if (own === undefined) return false;
  if (own === null) {
    ctx.report('redirect-address', path, `\`local-address\` says which of this host's addresses ${what} applies to, and needs them listed in \`host.addresses\` to be checked`);
    return false;
  }
  const outside = addresses.find((a) => !own.some((o) => o.family === a.family && o.interval[0] <= a.interval[0] && a.interval[1] <= o.interval[1]));
  if (outside) {
    const why = what === 'a redirect' ? `a redirect only ever delivers to this host, so connections meant for '${outside.text}' would reach this host's own port instead; to send connections on to another host, write a port forward (\`forwards:\`)` : `${what} catches connections to this host's own addresses`;
    ctx.report('redirect-address', path, `'${outside.text}' is not an address of this host (\`host.addresses\`): ${why}`, [ctx.related(['host', 'addresses'], "this host's addresses")]);
    return false;
  }
  return true;
}

/** nat's catches so far (redirects, then forwards): a new one meeting one of them never applies there. */
export type NatCatches = EarliestMeeting<{ readonly path: Path; readonly label: string }>;

/** `seen`: the translations so far, by the connections they catch: a new one meeting one of them is a duplicate. */
export function redirectsSection(ctx: Context, b: RulesetBuilder, seen: NatCatches): void {
  (ctx.policy.redirects ?? []).forEach((r, i) => {
    const path: Path = ['redirects', i];
    const origin = ctx.origin(path, r.name);
    if (r.name !== undefined && !ctx.ruleName(origin.label, path, 'name')) return;
    const protos = ctx.protos(r.proto ?? 'tcp', true, [...path, 'proto']);
    const port = readPort(r.port);
    if (typeof port === 'string') ctx.report('port-invalid', [...path, 'port'], port);
    // Redirected to its own port, a connection keeps its tuple, and conntrack then records no
    // DNAT: the filter table would not know it was redirected (hide-target would refuse it).
    else if (port.lo === r['to-port'] && port.hi === r['to-port']) {
      ctx.report('schema-value', [...path, 'to-port'], `a redirect of port ${r['to-port']} to itself changes nothing; to open the port, write an inbound allow`);
      return;
    }
    const src = ctx.addrs(r.from, [...path, 'from']);
    const dst = ctx.addrs(r['local-address'], [...path, 'local-address']);
    if (dst && !ofThisHost(ctx, dst, [...path, 'local-address'])) return;
    const inIface = ctx.iface(r.interface, [...path, 'interface']);
    if (typeof port === 'string' || [protos, src, dst, inIface].includes(undefined)) return;
    const sel = selector(ctx, { protos: protos!, ports: [port], src: src!, dst: dst!, inIface: inIface! }, r.family, path, 'from', 'local-address');
    if (!sel) return;
    const boxes = selectorBoxes(sel);
    const clash = seen.earliest(boxes);
    if (clash) {
      ctx.report('redirect-duplicate', path, `redirect '${origin.label}' catches connections already redirected by '${clash.label}' (${formatLocation(ctx.loc(clash.path))}), so it would never apply to them; make their ports, interfaces or addresses disjoint`, [ctx.related(clash.path, 'the earlier redirect')]);
      return;
    }
    const target = { kind: 'redirect', toPort: r['to-port'] } as const;
    const local: Selector = { ...sel, src: null, inIface: null, outIface: 'lo' };
    seen.add(boxes, { path, label: origin.label });
    const hideVerdict = resolveAction(ctx, 'deny', 'deny');
    for (const f of sel.families) {
      b.add(f, 'nat', 'PREROUTING', 'main', expand(sel, f).map((m) => rule(m, target, origin)));
      if (r.local) b.add(f, 'nat', 'OUTPUT', 'main', expand(local, f).map((m) => rule(m, target, ctx.origin(path, r.name, 'local'))));
      const toTarget: Selector = { ...sel, dst: null, inIface: null, ports: [{ lo: r['to-port'], hi: r['to-port'] }] };
      const redirected: Match[] = [{ kind: 'ctstate', states: ['DNAT'], negate: false }, { kind: 'ctorigdstport', ports: port }];
      b.add(f, 'filter', 'INPUT', 'redirected', expand(toTarget, f).map((m) => fallbackRule([...m, ...redirected], accept, ctx.origin(path, r.name, 'redirected'))));
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
