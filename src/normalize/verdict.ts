import { accept, drop, reject, rule, type Match, type Origin, type Proto, type Rule, type Fate } from '../model/ir.js';
import type { Path } from '../model/path.js';
import type { Action, LogSpec } from '../model/policy.js';
import { LOG_PREFIX_MAX_BYTES, NFLOG_PREFIX_MAX_BYTES, type Context } from './context.js';
import { rateOverflow, rateRefused } from './rate-limits.js';


export function resolveAction(ctx: Context, action: Action | undefined, fallback: Action): Fate {
  const a = action ?? fallback;
  return a === 'allow' ? 'accept' : a === 'deny' ? ctx.policy.defaults?.deny ?? 'reject' : a;
}

const protoOf = (ms: readonly Match[]): string | null => {
  const p = ms.find((m) => m.kind === 'proto');
  return p && p.kind === 'proto' ? p.proto : null;
};

/**
 * REJECT answers tcp with a reset (the client fails at once) and everything else with
 * port-unreachable. The kernel accepts tcp-reset only in a rule that itself matches -p tcp, so
 * a rule with no protocol becomes two.
 */
export function verdictRules(matches: readonly Match[], verdict: Fate, origin: Origin): Rule[] {
  const out: Rule[] = [];
  pushVerdictRules(out, matches, verdict, origin);
  return out;
}

const TCP_RESET = reject('tcp-reset');
const PORT_UNREACHABLE = reject('port-unreachable');

/** `verdictRules`, appended to `out`: sections add 100,000 rules, and need no array per rule. */
export function pushVerdictRules(out: Rule[], matches: readonly Match[], verdict: Fate, origin: Origin): void {
  if (verdict === 'accept') out.push(rule(matches, accept, origin));
  else if (verdict === 'drop') out.push(rule(matches, drop, origin));
  else {
    const proto = protoOf(matches);
    if (proto === 'tcp') out.push(rule(matches, TCP_RESET, origin));
    else if (proto !== null) out.push(rule(matches, PORT_UNREACHABLE, origin));
    else out.push(rule([...matches, { kind: 'proto', proto: 'tcp' }], TCP_RESET, origin), rule(matches, PORT_UNREACHABLE, origin));
  }
}

export interface ResolvedLog {
  readonly prefix: string;
  readonly rate: string;
  readonly burst: number;
  /** NFLOG's netlink group; none for LOG. */
  readonly nflog?: number;
}

const DEFAULT_LOG_RATE = '10/minute';
const DEFAULT_LOG_BURST = 5;
const DEFAULT_LOG_PREFIX = 'ipfence: ';
const DEFAULT_ACCEPT_LOG_PREFIX = 'ipfence accept: ';

/**
 * Resolves `log:` against `logging:` and checks the prefix is safe and not silently truncated.
 * What the rule does to the packets it logs picks the default prefix: an accepted packet never
 * goes under `logging.prefix`, which names the refused ones (and the default policy's drops), so a
 * log reader counting "ipfence-drop:" lines does not count allowed traffic; it has its own,
 * `logging.accept-prefix`. A rule's own `log.prefix` wins either way.
 */
export function resolveLog(ctx: Context, spec: LogSpec | undefined, path: Path, verdict: Fate, fallbackPrefix?: string): ResolvedLog | null | undefined {
  if (spec === undefined || spec === false) return null;
  const g = ctx.policy.logging ?? {};
  const own = typeof spec === 'object' ? spec : {};
  const key = verdict === 'accept' ? 'accept-prefix' : 'prefix';
  const prefix = own.prefix ?? g[key] ?? (verdict === 'accept' ? DEFAULT_ACCEPT_LOG_PREFIX : (fallbackPrefix ?? DEFAULT_LOG_PREFIX));
  const prefixPath = own.prefix !== undefined ? [...path, 'prefix'] : g[key] !== undefined ? ['logging', key] : path;
  if (prefix.length === 0) {
    ctx.report('string-too-long', prefixPath, 'a log prefix must not be empty (iptables refuses it)');
    return undefined;
  }
  const nflog = own.nflog ?? g.nflog;
  if (!ctx.text(prefix, prefixPath, nflog === undefined ? 'log prefix' : 'NFLOG prefix', nflog === undefined ? LOG_PREFIX_MAX_BYTES : NFLOG_PREFIX_MAX_BYTES)) return undefined;
  const rate = own.rate ?? g.rate ?? DEFAULT_LOG_RATE;
  const burst = own.burst ?? g.burst ?? DEFAULT_LOG_BURST;
  if (rateRefused('limit', rate, burst)) {
    // Blame what the rule wrote; `logging`'s own values are reported once, however many rules use them.
    const at = own.burst !== undefined ? [...path, 'burst'] : own.rate !== undefined ? [...path, 'rate'] : g.burst !== undefined ? ['logging', 'burst'] : ['logging', 'rate'];
    if (at[0] === 'logging') ctx.reportOnce('logging-rate', 'rate-overflow', at, rateOverflow('limit', rate, burst));
    else ctx.report('rate-overflow', at, rateOverflow('limit', rate, burst));
    return undefined;
  }
  return nflog === undefined ? { prefix, rate, burst } : { prefix, rate, burst, nflog };
}

/**
 * The body of a chain a rule jumps to (for `except`, user exceptions, logged limits): optional
 * LOG, then the verdict. With a single protocol the verdict matches it, so a REJECT can reset tcp.
 */
export function ownChainRules(protos: readonly Proto[] | null, log: ResolvedLog | null, verdict: Fate, origin: Origin): Rule[] {
  const protoOnly: Match[] = protos?.length === 1 ? [{ kind: 'proto', proto: protos[0]! }] : [];
  return [...(log ? [logRule([], log, origin)] : []), ...verdictRules(protoOnly, verdict, origin)];
}

export function logRule(matches: readonly Match[], log: ResolvedLog, origin: Origin): Rule {
  return rule([...matches, { kind: 'limit', rate: log.rate, burst: log.burst }], log.nflog === undefined ? { kind: 'log', prefix: log.prefix } : { kind: 'log', prefix: log.prefix, nflog: log.nflog }, origin);
}
