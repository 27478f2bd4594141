import { jump, rule, type Match } from '../model/ir.js';
import type { Path } from '../model/path.js';
import type { RulesetBuilder } from './builder.js';
import type { Context } from './context.js';
import { rateOverflow, rateRefused } from './rate-limits.js';
import { expand, selector } from './selector.js';
import { ownChainRules, resolveAction, resolveLog, verdictRules } from './verdict.js';

/** NEW connections over the rate are cut before any allow of the chain sees them. */
export function limitsSection(ctx: Context, b: RulesetBuilder): void {
  (ctx.policy.limits ?? []).forEach((l, i) => {
    const path: Path = ['limits', i];
    const origin = ctx.origin(path, l.name);
    if (l.name !== undefined && !ctx.ruleName(origin.label, path, 'name')) return;
    const ports = ctx.ports(l.port, [...path, 'port']);
    const protos = ctx.protos(l.proto ?? (l.port !== undefined ? undefined : 'tcp'), l.port !== undefined, [...path, 'proto']);
    const src = ctx.addrs(l.from, [...path, 'from']);
    const dst = ctx.addrs(l.to, [...path, 'to']);
    const inIface = ctx.iface(l.interface, [...path, 'interface']);
    const verdict = resolveAction(ctx, l.action, 'drop');
    const log = resolveLog(ctx, l.log, [...path, 'log'], verdict);
    if ([ports, protos, src, dst, inIface, log].includes(undefined)) return;
    const burst = l.burst ?? 5;
    if (rateRefused('hashlimit', l.rate, burst)) {
      ctx.report('rate-overflow', [...path, l.burst !== undefined ? 'burst' : 'rate'], rateOverflow('hashlimit', l.rate, burst));
      return;
    }
    const sel = selector(ctx, { protos: protos!, ports: ports!, src: src!, dst: dst!, inIface: inIface! }, l.family, path, 'from', 'to');
    if (!sel) return;
    const chainName = l.chain === 'forward' ? 'FORWARD' : 'INPUT';
    const limit: Match[] = [
      { kind: 'ctstate', states: ['NEW'], negate: false },
      { kind: 'hashlimit', above: l.rate, burst, perSource: (l.per ?? 'source') === 'source', name: `ipf-limit-${i + 1}` },
    ];
    const own = `ipf-limit-${i + 1}`;
    for (const f of sel.families) {
      const heads = expand(sel, f).map((m) => [...m, ...limit]);
      if (!log) {
        b.add(f, 'filter', chainName, 'limits', heads.flatMap((m) => verdictRules(m, verdict, origin)));
        continue;
      }
      // Logging goes through a chain of its own: a second rule repeating the hashlimit match
      // would take a second token from the same bucket and halve the configured rate.
      b.addUserChain(f, 'filter', own, ownChainRules(sel.protos, log!, verdict, origin));
      b.add(f, 'filter', chainName, 'limits', heads.map((m) => rule(m, jump(own), origin)));
    }
  });
}
