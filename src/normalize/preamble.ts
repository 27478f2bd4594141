import { FAMILIES } from '../model/family.js';
import { accept, lazyOrigin, rule, type Match } from '../model/ir.js';
import type { Path } from '../model/path.js';
import type { ChainPolicy as PolicyChoice } from '../model/policy.js';
import type { RulesetBuilder } from './builder.js';
import type { Context } from './context.js';
import { logRule, resolveLog, verdictRules } from './verdict.js';

const FILTER_CHAINS = [
  { chain: 'INPUT', key: 'input', lo: 'in' },
  { chain: 'FORWARD', key: 'forward', lo: null },
  { chain: 'OUTPUT', key: 'output', lo: 'out' },
] as const;

export function chainPolicy(ctx: Context, key: 'input' | 'forward' | 'output'): PolicyChoice {
  return ctx.policy.defaults?.[key] ?? 'accept';
}

function defaultsPath(ctx: Context, key: string): Path {
  const d = ctx.policy.defaults as Record<string, unknown> | undefined;
  return d && key in d ? ['defaults', key] : d ? ['defaults'] : [];
}

/** Accepts that must precede every policy rule: replies, loopback, and IPv6's control plane. */
export function preamble(ctx: Context, b: RulesetBuilder): void {
  const established = ctx.policy.defaults?.established !== false;
  const essentials = ctx.policy.defaults?.['icmpv6-essentials'] !== false;
  for (const rec of FAMILIES) {
    for (const c of FILTER_CHAINS) {
      if (established) {
        const p = defaultsPath(ctx, 'established');
        b.add(rec.family, 'filter', c.chain, 'state', [rule([{ kind: 'ctstate', states: ['ESTABLISHED', 'RELATED'], negate: false }], accept, lazyOrigin(p, 'ipfence: established', ctx.source))]);
        if (c.lo) b.add(rec.family, 'filter', c.chain, 'loopback', [rule([{ kind: c.lo, iface: 'lo' }], accept, lazyOrigin(p, 'ipfence: loopback', ctx.source))]);
      }
      if (essentials && c.key !== 'forward' && chainPolicy(ctx, c.key) !== 'accept') {
        const p = defaultsPath(ctx, 'icmpv6-essentials');
        b.add(rec.family, 'filter', c.chain, 'essentials', rec.essentials.map((e) => {
          const ms: Match[] = [{ kind: 'proto', proto: 'icmp' }, { kind: 'icmp-type', name: e.icmpType }];
          if (e.hopLimit !== null) ms.push({ kind: 'hop-limit', eq: e.hopLimit });
          return rule(ms, accept, lazyOrigin(p, `ipfence: ${e.name}`, ctx.source));
        }));
      }
    }
  }
}

/** What ends a chain whose policy is not accept: an optional rate-limited LOG, then REJECT if asked. */
export function tail(ctx: Context, b: RulesetBuilder): void {
  const logging = ctx.policy.logging;
  const logDropped = logging !== undefined && logging.dropped !== false;
  for (const c of FILTER_CHAINS) {
    const choice = chainPolicy(ctx, c.key);
    if (choice === 'accept') continue;
    const p = defaultsPath(ctx, c.key);
    const origin = lazyOrigin(p, `ipfence: ${c.chain} policy ${choice}`, ctx.source);
    const log = logDropped ? resolveLog(ctx, true, ['logging'], choice, `ipfence ${c.chain} ${choice}: `) : null;
    for (const rec of FAMILIES) {
      if (log) b.add(rec.family, 'filter', c.chain, 'tail', [logRule([], log, origin)]);
      if (choice === 'reject') b.add(rec.family, 'filter', c.chain, 'tail', verdictRules([], 'reject', origin));
    }
  }
}
