import { familyRecord } from '../model/family.js';
import { jump, relabel, ret, rule, type Family, type Origin, type Rule, type Fate } from '../model/ir.js';
import type { Path } from '../model/path.js';
import type { Action, Addrs, FamilyChoice, LogSpec, Policy, Ports, Proto, ServiceRef } from '../model/policy.js';
import { NO_CIDRS, ofFamily, type Cidr } from '../values/addresses.js';
import type { Context } from './context.js';
import type { RulesetBuilder } from './builder.js';
import type { SectionEntry } from './order-check.js';
import { OrderSweep } from '../analysis/order-sweep.js';
import { expand, familiesOf, selector, selectorBoxes, type PortMatchCache, type Selector, type SelectorParts, type SetSink } from './selector.js';
import { logRule, ownChainRules, pushVerdictRules, resolveAction, resolveLog, verdictRules, type ResolvedLog } from './verdict.js';

/** The three filter sections differ only in this record: which chain, and what each key means. */
interface SectionRecord {
  readonly key: 'inbound' | 'outbound' | 'forward';
  readonly chain: 'INPUT' | 'OUTPUT' | 'FORWARD';
  readonly short: string;
  readonly inKey: 'interface' | 'in' | null;
  readonly outKey: 'interface' | 'out' | null;
  /** `except` removes sources (inbound, forward) or destinations (outbound). */
  readonly exceptOn: 'src' | 'dst';
}

/** Address lists longer than this become ipsets; `defaults.set-threshold: 0` never uses sets. */
const DEFAULT_SET_THRESHOLD = 32;

export const FILTER_SECTIONS: readonly SectionRecord[] = [
  { key: 'inbound', chain: 'INPUT', short: 'in', inKey: 'interface', outKey: null, exceptOn: 'src' },
  { key: 'outbound', chain: 'OUTPUT', short: 'out', inKey: null, outKey: 'interface', exceptOn: 'dst' },
  { key: 'forward', chain: 'FORWARD', short: 'fwd', inKey: 'in', outKey: 'out', exceptOn: 'src' },
];

interface AnyFilterRule {
  readonly name?: string;
  readonly action?: Action;
  readonly proto?: Proto;
  readonly port?: Ports;
  readonly service?: ServiceRef;
  readonly 'icmp-type'?: string;
  readonly from?: Addrs;
  readonly to?: Addrs;
  readonly except?: Addrs;
  readonly family?: FamilyChoice;
  readonly log?: LogSpec;
  readonly others?: 'deny' | 'drop' | 'reject' | 'pass';
  readonly interface?: string;
  readonly in?: string;
  readonly out?: string;
}

/** Compiles a section's rules; unless as-written, the returned sweep holds its order conflicts. */
export function filterSection(ctx: Context, b: RulesetBuilder, rec: SectionRecord, asWritten: boolean): OrderSweep<SectionEntry> | undefined {
  const rules = (ctx.policy as Policy)[rec.key] as readonly AnyFilterRule[] | undefined;
  // as-written has no order check, and allow-first keeps only denies: a selector need not outlive its rule.
  const sweep = asWritten ? undefined : new OrderSweep<SectionEntry>();
  const groups = new SectionGroups(b, rec.chain);
  (rules ?? []).forEach((r, i) => {
    const path: Path = [rec.key, i];
    compileRule(ctx, b, groups, rec, r, i, path, sweep);
  });
  return sweep;
}

/** Compiles one rule into `b`; with a sweep (allow-first order), its entry goes there for the order check. */
function compileRule(ctx: Context, b: RulesetBuilder, groups: SectionGroups, rec: SectionRecord, r: AnyFilterRule, i: number, path: Path, sweep: OrderSweep<SectionEntry> | undefined): void {
  const asWritten = sweep === undefined;
  const origin = ctx.origin(path, r.name);
  // Each value's own path is built only for a diagnostic: ctx's methods take the key under `path`.
  if (r.name !== undefined && !ctx.ruleName(origin.label, path, 'name')) return;
  const portGroups = ctx.portGroups(r, path);
  const src = ctx.addrs(r.from, path, 'from');
  const dst = ctx.addrs(r.to, path, 'to');
  const except = ctx.addrs(r.except, path, 'except');
  const inIface = rec.inKey ? ctx.iface(r[rec.inKey], path, false, rec.inKey) : null;
  const outIface = rec.outKey ? ctx.iface(r[rec.outKey], path, false, rec.outKey) : null;
  const verdict = resolveAction(ctx, r.action, 'allow');
  const log = r.log === undefined ? null : resolveLog(ctx, r.log, [...path, 'log'], verdict);
  if (portGroups === undefined || src === undefined || dst === undefined || except === undefined || inIface === undefined || outIface === undefined || log === undefined) return;
  if (r.others !== undefined && (rec.key !== 'inbound' || verdict !== 'accept' || r.from === undefined)) {
    ctx.report('schema-value', [...path, 'others'], '`others` applies only to an inbound allow with `from` (an allowlist); remove it');
    return;
  }
  const icmpType = r['icmp-type'] ?? null;
  const group = asWritten ? 'allow' : verdict === 'accept' ? 'allow' : 'deny';
  const threshold = ctx.policy.defaults?.['set-threshold'] ?? DEFAULT_SET_THRESHOLD;
  const sets = threshold > 0 && Math.max(src?.length ?? 0, dst?.length ?? 0) > threshold ? setSink(ctx, b, rec, i, threshold, origin, path) : undefined;
  const budget = ctx.budget.rulesAt(path);
  // A service whose protocols have different ports (ssh and dns: tcp 22 and 53, udp 53) is one
  // selector per port group, all of the one rule.
  const boxes: ReturnType<typeof selectorBoxes> = {};
  for (let g = 0; g < portGroups.length; g++) {
    const { protos, ports } = portGroups[g]!;
    const families = familiesOf(ctx, protos, icmpType, src, dst, r.family, path, 'from', 'to');
    if (families === undefined) return;
    const sel: Selector = {
      protos, ports, icmpType, src, dst, inIface, outIface,
      srcExcept: rec.exceptOn === 'src' && except !== null ? except : NO_CIDRS,
      dstExcept: rec.exceptOn === 'dst' && except !== null ? except : NO_CIDRS,
      families,
      budget,
    };
    const compiled: CompiledRule = { b, rec, index: i, group: g, sel, verdict, log, origin, sets, portMatches: {} };
    for (let k = 0; k < sel.families.length; k++) familyRules(groups.rules(sel.families[k]!, group), compiled, sel.families[k]!);
    // An allow with sources is an allowlist: the same traffic from anyone else is denied, in every
    // family the port exists in, so listing only IPv4 sources does not leave IPv6 open.
    if (rec.key === 'inbound' && verdict === 'accept' && r.from !== undefined && r.others !== 'pass') denyOthers(ctx, b, rec, r, r.others, path, sel);
    if (sweep) for (const [f, bs] of Object.entries(selectorBoxes(sel))) (boxes[f as Family] ??= []).push(...bs!);
  }
  sweep?.add({ path, label: origin.label, boxes, verdict });
}

/** A section's two groups in each family, asked of the builder once each: a section appends rules 100,000 times. */
class SectionGroups {
  private readonly lists: Record<Family, { allow?: Rule[]; deny?: Rule[] }> = { ipv4: {}, ipv6: {} };
  constructor(
    private readonly b: RulesetBuilder,
    private readonly chain: SectionRecord['chain'],
  ) {}

  rules(f: Family, group: 'allow' | 'deny'): Rule[] {
    return (this.lists[f][group] ??= this.b.groupRules(f, 'filter', this.chain, group));
  }
}

/** The implicit rule of an allowlist: the same traffic from other sources gets `others` (deny by default). */
function denyOthers(ctx: Context, b: RulesetBuilder, rec: SectionRecord, r: AnyFilterRule, action: Action | undefined, path: Path, parts: SelectorParts): void {
  const others = selector(ctx, { ...parts, src: null, srcExcept: null }, r.family, path);
  const otherVerdict = resolveAction(ctx, action ?? 'deny', 'deny');
  // One origin for every family: the families' rules are twins (family-asymmetry compares origins).
  const origin = ctx.origin(path, r.name, 'others');
  for (const f of others?.families ?? []) {
    b.add(f, 'filter', rec.chain, 'implicit', expand(others!, f).flatMap((m) => verdictRules(m, otherVerdict, origin)));
  }
}

/** The name of a rule's own chain (for `except`), and the prefix of its ipsets' names. */
const ownName = (rec: SectionRecord, i: number): string => `ipf-${rec.short}-${i + 1}`;
// A service's second port group's chain is ipf-in-3-2: no other rule's name has a second dash.

/** Long address lists become ipsets named after the rule: ipf-in-3-src-4 (at most 31 characters). */
function setSink(ctx: Context, b: RulesetBuilder, rec: SectionRecord, i: number, threshold: number, origin: Origin, path: Path): SetSink {
  const base = ownName(rec, i);
  return {
    threshold,
    name: (dir, f) => `${base}-${dir}-${familyRecord(f).digit}`,
    add: (name, f, cidrs, list) => b.addSet(name, f, cidrs, list, origin, (n) => ctx.budget.take('setEntries', n, [...path, name.includes('-src-') ? 'from' : 'to'])),
  };
}

/** A section rule as compiled once for all its families. */
interface CompiledRule {
  readonly b: RulesetBuilder;
  readonly rec: SectionRecord;
  /** Its index in the section, which names its own chain and sets. */
  readonly index: number;
  /** Which of its service's port groups (0 for a rule of one protocol-and-port product). */
  readonly group: number;
  readonly sel: Selector;
  readonly verdict: Fate;
  readonly log: ResolvedLog | null;
  readonly origin: Origin;
  readonly sets: SetSink | undefined;
  /** Its port matches, shared by its families. */
  readonly portMatches: PortMatchCache;
}

/** Appends the rule's rules in family `f` to `out` (its group). */
function familyRules(out: Rule[], r: CompiledRule, f: Family): void {
  const except = ofFamily(r.rec.exceptOn === 'src' ? r.sel.srcExcept : r.sel.dstExcept, f)!;
  const heads = expand(r.sel, f, r.sets, r.portMatches);
  if (except.length === 0) {
    for (let k = 0; k < heads.length; k++) {
      if (r.log) out.push(logRule(heads[k]!, r.log, r.origin));
      pushVerdictRules(out, heads[k]!, r.verdict, r.origin);
    }
    return;
  }
  const chainName = r.group === 0 ? ownName(r.rec, r.index) : `${ownName(r.rec, r.index)}-${r.group + 1}`;
  exceptChain(r, chainName, except, f);
  for (const m of heads) out.push(rule(m, jump(chainName), r.origin));
}

/**
 * Excepted addresses RETURN from a chain of the rule's own, so they continue to the rules after
 * it exactly as if this rule did not exist for them.
 */
function exceptChain(r: CompiledRule, chainName: string, except: readonly Cidr[], f: Family): void {
  const exceptOrigin = relabel(r.origin, `${r.origin.label} (except)`);
  r.b.addUserChain(f, 'filter', chainName, [...except.map((c) => rule([{ kind: r.rec.exceptOn, cidr: c.text }], ret, exceptOrigin)), ...ownChainRules(r.sel.protos, r.log, r.verdict, r.origin)]);
}
