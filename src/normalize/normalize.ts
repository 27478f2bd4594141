import { diag, hasErrors, type Diagnostic } from '../diagnostics/diagnostic.js';
import { lazyOrigin, type BuiltinPolicy, type Family, type IR } from '../model/ir.js';
import type { SourceMap } from '../load/source-map.js';
import type { Policy } from '../model/policy.js';
import { RulesetBuilder } from './builder.js';
import { COMMENT_MAX_BYTES, Context } from './context.js';
import { FILTER_SECTIONS, filterSection } from './filter-sections.js';
import { limitsSection } from './limits.js';
import { checkOrder } from './order-check.js';
import { dockerSection } from './docker.js';
import { chainPolicy, preamble, tail } from './preamble.js';
import { marksSection } from './marks.js';
import { redirectsSection, type NatCatches } from './redirects.js';
import { forwardsSection, sourceNatSection } from './nat.js';
import { rawSection } from './raw.js';
import { EarliestMeeting } from '../analysis/order-sweep.js';
import { testsSection } from './tests.js';
import { usersSection } from './users.js';
import { pathKey } from '../model/path.js';

/**
 * The file that reads each key of a policy. A new section fails to compile until it is listed
 * here, which is the moment to decide where it becomes rules (test/normalize-sections.test.ts
 * holds every file named to exist).
 */
export const READ_BY = {
  version: 'validate', include: 'compose', variables: 'compose',
  host: 'redirects.ts', defaults: 'preamble.ts', interfaces: 'interface-names.ts', addresses: 'address-book.ts', services: 'services.ts',
  inbound: 'filter-sections.ts', outbound: 'filter-sections.ts', forward: 'filter-sections.ts', users: 'users.ts', limits: 'limits.ts',
  redirects: 'redirects.ts', marks: 'marks.ts', masquerade: 'nat.ts', snat: 'nat.ts', forwards: 'nat.ts', notrack: 'raw.ts', helpers: 'raw.ts',
  logging: 'verdict.ts', checks: 'check/config.ts', ownership: 'normalize.ts', coexist: 'normalize.ts', docker: 'docker.ts', tests: 'tests.ts',
} as const satisfies Record<keyof Policy, string>;

/** The ban chains of fail2ban, sshguard and crowdsec's firewall bouncer: their jumps stay ahead of ipfence's. */
const DEFAULT_RUN_FIRST: readonly string[] = ['f2b-*', 'sshguard', 'CROWDSEC_CHAIN'];

export interface NormalizeResult {
  readonly ir?: IR;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * Each rule's comment as it is emitted, the rule's name and its role (`web (others)`, `tls (hide
 * target)`), within the 255 bytes the comment match keeps: iptables-restore takes more and cuts
 * it silently. Reported once per policy rule, at its name.
 */
function commentsFit(ctx: Context, ir: IR): void {
  const reported = new Set<string>();
  for (const rs of ir.rulesets) {
    for (const t of rs.tables) {
      for (const c of t.chains) {
        for (let i = 0; i < c.rules.length; i++) {
          const r = c.rules[i]!;
          const label = r.origin.label;
          // UTF-8 takes at most 3 bytes per UTF-16 unit: most labels are surely short enough uncounted.
          if (label.length * 3 <= COMMENT_MAX_BYTES) continue;
          const bytes = Buffer.byteLength(label, 'utf8');
          if (bytes <= COMMENT_MAX_BYTES) continue;
          const key = pathKey(r.origin.path);
          if (reported.has(key)) continue;
          reported.add(key);
          const name = ctx.valueAt([...r.origin.path, 'name']);
          const role = typeof name === 'string' && label.startsWith(name) ? label.slice(name.length) : '';
          const room = COMMENT_MAX_BYTES - Buffer.byteLength(role, 'utf8');
          ctx.report('string-too-long', typeof name === 'string' ? [...r.origin.path, 'name'] : r.origin.path, `the comment of this rule's iptables rules is '${label}', ${bytes} bytes, and iptables keeps ${COMMENT_MAX_BYTES} and silently cuts the rest${role ? `; with '${role}' added, the name can be at most ${room} bytes` : ''}; shorten the name`);
        }
      }
    }
  }
}

/** Policy -> IR: per family, per table, per chain, ordered rules that each carry their origin. */
export function normalize(policy: Policy, source: SourceMap): NormalizeResult {
  const ctx = new Context(policy, source);
  const b = new RulesetBuilder();
  const asWritten = policy.defaults?.order === 'as-written';
  ctx.resolveAllNames();
  preamble(ctx, b);
  const caught: NatCatches = new EarliestMeeting();
  redirectsSection(ctx, b, caught);
  forwardsSection(ctx, b, caught);
  sourceNatSection(ctx, b);
  rawSection(ctx, b);
  limitsSection(ctx, b);
  usersSection(ctx, b);
  for (const sec of FILTER_SECTIONS) {
    const sweep = filterSection(ctx, b, sec, asWritten);
    if (sweep) checkOrder(ctx, sec.key, sweep);
  }
  const routes = marksSection(ctx, b);
  dockerSection(ctx, b);
  tail(ctx, b);
  const tests = testsSection(ctx);
  const toPolicy = (k: 'input' | 'forward' | 'output'): BuiltinPolicy => (chainPolicy(ctx, k) === 'accept' ? 'ACCEPT' : 'DROP');
  const ownership = policy.ownership ?? 'full';
  const explicit = new Set((['input', 'forward', 'output'] as const).filter((k) => policy.defaults?.[k] !== undefined).map((k) => k.toUpperCase()));
  const policies = { INPUT: toPolicy('input'), FORWARD: toPolicy('forward'), OUTPUT: toPolicy('output') };
  if (policy.coexist !== undefined && ownership !== 'coexist') {
    ctx.diagnostics.push(diag('schema-value', ctx.loc(['coexist'], 'key'), "`coexist:` says how ipfence's jumps sit among other tools' rules, and applies only with `ownership: coexist`; set that or remove it", undefined, ['coexist']));
  }
  const runFirst = policy.coexist?.['run-first'] ?? DEFAULT_RUN_FIRST;
  const ir: IR = { kind: 'ir', ownership, runFirst, rulesets: b.build(ownership, policies, explicit, lazyOrigin([], '', ctx.source)), routes, sets: b.sets, tests, interfaces: new Map(Object.entries(policy.interfaces ?? {})), ...hostAddresses(ctx) };
  commentsFit(ctx, ir);
  return hasErrors(ctx.diagnostics) ? { diagnostics: ctx.diagnostics } : { ir, diagnostics: ctx.diagnostics };
}

/** `host.addresses` by family, for the model of where a redirect delivers (none when not listed). */
function hostAddresses(ctx: Context): Pick<IR, 'hostAddresses'> {
  const own = ctx.addrs(ctx.policy.host?.addresses, ['host', 'addresses']);
  if (!own) return {};
  const out: Partial<Record<Family, string[]>> = {};
  for (const c of own) (out[c.family] ??= []).push(c.text);
  return { hostAddresses: out };
}
