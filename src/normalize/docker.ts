import { FAMILY_NAMES } from '../model/family.js';
import { relabel, rule, ret, type Family, type Match, type Origin, type Rule, type Fate } from '../model/ir.js';
import type { Path } from '../model/path.js';
import type { Addrs } from '../model/policy.js';
import { readAddress, type Cidr } from '../values/addresses.js';
import { DOCKER_CHAIN } from '../model/chains.js';
import type { RulesetBuilder } from './builder.js';
import type { Context } from './context.js';
import { readPort } from '../values/ports.js';
import { expand, selector } from './selector.js';
import { resolveAction, verdictRules } from './verdict.js';

/** One Docker address entry: a CIDR (from a literal or a set) or an iprange, possibly negated. */
type DockerAddr =
  | { readonly kind: 'cidr'; readonly cidr: Cidr; readonly negate: boolean }
  | { readonly kind: 'range'; readonly family: Family; readonly from: string; readonly to: string; readonly negate: boolean };

const familyOf = (a: DockerAddr): Family => (a.kind === 'cidr' ? a.cidr.family : a.family);

function dockerAddrs(ctx: Context, spec: Addrs | undefined, path: Path): readonly DockerAddr[] | null | undefined {
  if (spec === undefined) return null;
  const items = typeof spec === 'string' ? [spec] : spec;
  const out: DockerAddr[] = [];
  let ok = true;
  items.forEach((raw, i) => {
    const p = typeof spec === 'string' ? path : [...path, i];
    const negate = raw.startsWith('!');
    const text = negate ? raw.slice(1) : raw;
    if (negate && items.length > 1) {
      ctx.report('schema-value', p, `a negated entry ('${raw}') must stand alone: "not A" together with other entries is ambiguous; use one negation, or list what is allowed`);
      ok = false;
      return;
    }
    const range = /^([^-/]+)-([^-/]+)$/.exec(text);
    if (range && !ctx.policy.addresses?.[text]) {
      const a = readAddress(range[1]!);
      const b = readAddress(range[2]!);
      if (typeof a === 'string' || typeof b === 'string' || a.family !== b.family || a.interval[0] > b.interval[0]) {
        ctx.report('address-invalid', p, `'${text}' is not a range of two addresses of one family, lowest first (e.g. 192.0.2.10-192.0.2.20)`);
        ok = false;
        return;
      }
      out.push({ kind: 'range', family: a.family, from: range[1]!, to: range[2]!, negate });
      return;
    }
    const cidrs = ctx.addrs(text, p);
    if (cidrs === undefined || cidrs === null) {
      ok = false;
      return;
    }
    if (negate && cidrs.some((c) => c.prefix === 0)) {
      ctx.report('schema-value', p, `'${raw}' negates every address of the family, so it matches nothing; remove the rule instead`);
      ok = false;
      return;
    }
    if (negate && cidrs.length !== 1) {
      ctx.report('schema-value', p, `'${raw}' negates a set of ${cidrs.length} networks; iptables can negate only one address, network or range per rule`);
      ok = false;
      return;
    }
    out.push(...cidrs.map((cidr) => ({ kind: 'cidr' as const, cidr, negate })));
  });
  return ok ? out : undefined;
}

function addrMatch(a: DockerAddr, dir: 'src' | 'dst'): Match[] {
  if (a.kind === 'range') return [{ kind: 'iprange', dir, from: a.from, to: a.to, negate: a.negate }];
  if (a.cidr.prefix === 0) return [];
  return [{ kind: dir, cidr: a.cidr.text, ...(a.negate ? { negate: true } : {}) }];
}

/**
 * The address matches of `as` in family `f`, one list per rule to emit: [[]] matches every
 * address, [] matches none. "Not that IPv4 network" matches every IPv6 address, so a negated
 * entry restricts only its own family.
 */
function inFamily(as: readonly DockerAddr[] | null, f: Family, dir: 'src' | 'dst'): Match[][] {
  if (as === null) return [[]];
  if (as.length === 1 && as[0]!.negate && familyOf(as[0]!) !== f) return [[]];
  return as.filter((a) => familyOf(a) === f).map((a) => addrMatch(a, dir));
}

/**
 * DOCKER-USER rules, through our own chain IPFENCE-DOCKER: published ports by ORIGINAL port (the
 * packets are already DNATed there), container egress by NEW connections from the bridges.
 * Allowed traffic RETURNs so Docker's own rules still apply; the chain ends with RETURN.
 */
export function dockerSection(ctx: Context, b: RulesetBuilder): void {
  const d = ctx.policy.docker;
  if (!d) return;
  const bridges = d.bridges ? d.bridges.map((x, i) => ctx.iface(x, ['docker', 'bridges', i])) : ['docker0', 'br-+'].map((x) => ctx.iface(x, ['docker'], true));
  const external = ctx.iface(d.interface, ['docker', 'interface']);
  if (bridges.includes(undefined) || external === undefined) return;
  const head: Record<Family, Rule[]> = { ipv4: [], ipv6: [] };
  const body: Record<Family, Rule[]> = { ipv4: [], ipv6: [] };
  const add = (fs: readonly Family[], rules: (f: Family) => Rule[]) => fs.forEach((f) => body[f].push(...rules(f)));
  const origin = (path: Path, name: string | undefined, role?: string): Origin => ctx.origin(path, name, role);

  const base: Origin = origin(['docker'], undefined, 'established');
  for (const f of FAMILY_NAMES) head[f].push(rule([{ kind: 'ctstate', states: ['ESTABLISHED', 'RELATED'], negate: false }], ret, relabel(base, 'ipfence: docker established')));

  (d.published ?? []).forEach((p, i) => {
    const path: Path = ['docker', 'published', i];
    const o = origin(path, p.name);
    if (p.name !== undefined && !ctx.ruleName(o.label, path, 'name')) return;
    const port = readPort(p.port);
    if (typeof port === 'string') return ctx.report('port-invalid', [...path, 'port'], port);
    const from = dockerAddrs(ctx, p.from, [...path, 'from']);
    const to = ctx.addrs(p.to, [...path, 'to']);
    if (from === undefined || to === undefined) return;
    const proto = p.proto ?? 'tcp';
    const matchBase = (toCidr: Cidr | null): Match[] => [
      ...(external ? [{ kind: 'in' as const, iface: external }] : []),
      { kind: 'proto', proto },
      { kind: 'ctorigdstport', ports: port },
      { kind: 'ctdir', dir: 'ORIGINAL' },
      ...(toCidr && toCidr.prefix > 0 ? [{ kind: 'ctorigdst' as const, cidr: toCidr.text }] : []),
    ];
    const toFams = to === null ? [...FAMILY_NAMES] : [...new Set(to.map((c) => c.family))];
    const targets = (f: Family): (Cidr | null)[] => (to === null ? [null] : to.filter((c) => c.family === f));
    const others: Fate = resolveAction(ctx, p.others ?? 'deny', 'deny');
    add(toFams, (f) =>
      targets(f).flatMap((t) => {
        const srcs = inFamily(from, f, 'src');
        const everyone = srcs.some((m) => m.length === 0);
        return [
          ...srcs.map((src) => rule([...matchBase(t), ...src], ret, o)),
          // The deny applies in every family the port is published in, so an IPv4-only list leaves no IPv6 way in.
          ...(everyone ? [] : verdictRules(matchBase(t), others, origin(path, p.name, 'others'))),
        ];
      }),
    );
  });

  const containers = (bridges as string[]).map((iface): Match[] => [{ kind: 'in', iface }, ...(external ? [{ kind: 'out' as const, iface: external }] : []), { kind: 'ctstate', states: ['NEW'], negate: false }]);
  (d.egress ?? []).forEach((e, i) => {
    const path: Path = ['docker', 'egress', i];
    const o = origin(path, e.name);
    if (e.name !== undefined && !ctx.ruleName(o.label, path, 'name')) return;
    const from = dockerAddrs(ctx, e.from, [...path, 'from']);
    const to = dockerAddrs(ctx, e.to, [...path, 'to']);
    const ports = ctx.ports(e.port, [...path, 'port']);
    const protos = ctx.protos(e.proto, e.port !== undefined, [...path, e.proto !== undefined ? 'proto' : 'port']);
    if (from === undefined || to === undefined || ports === undefined || protos === undefined) return;
    const sel = selector(ctx, { protos, ports, src: null, dst: null }, undefined, path);
    if (!sel) return;
    const fams = FAMILY_NAMES.filter((f) => inFamily(from, f, 'src').length > 0 && inFamily(to, f, 'dst').length > 0);
    if (fams.length === 0) return ctx.report('family-mismatch', path, 'its container and destination addresses are of different families; split it per family');
    const verdict = resolveAction(ctx, e.action, 'allow');
    add(fams, (f) => {
      const srcs = inFamily(from, f, 'src');
      const dsts = inFamily(to, f, 'dst');
      return containers.flatMap((c) => srcs.flatMap((s) => dsts.flatMap((t) => expand(sel, f).flatMap((m) => {
        const ms = [...c, ...s, ...t, ...m];
        return verdict === 'accept' ? [rule(ms, ret, o)] : verdictRules(ms, verdict, o);
      }))));
    });
  });

  const fallback = resolveAction(ctx, d['egress-default'] ?? 'allow', 'allow');
  if (fallback !== 'accept') {
    const o = origin(['docker', 'egress-default'], undefined);
    add(FAMILY_NAMES, () => containers.flatMap((c) => verdictRules(c, fallback, relabel(o, 'ipfence: docker egress default'))));
  }
  for (const f of FAMILY_NAMES) {
    b.addUserChain(f, 'filter', DOCKER_CHAIN, [...head[f], ...body[f], rule([], ret, relabel(base, 'ipfence: docker end'))]);
  }
}
