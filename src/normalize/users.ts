import { chosenFamilies } from '../model/family.js';
import { jump, relabel, ret, rule, type Match } from '../model/ir.js';
import type { Path } from '../model/path.js';
import type { UserRule } from '../model/policy.js';
import type { RulesetBuilder } from './builder.js';
import type { Context } from './context.js';
import type { Selector } from './selector.js';
import { expand, selector } from './selector.js';
import { ownChainRules, resolveAction, resolveLog, verdictRules } from './verdict.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

/** uid/gid as iptables takes it: a name, a number, or an increasing range "a-b". */
export function ownerId(ctx: Context, v: string | number, path: Path, what: 'user' | 'group'): string | undefined {
  if (typeof v === 'number') return String(v);
  const range = /^([0-9]+)-([0-9]+)$/.exec(v);
  if (range) {
    const lo = Number(range[1]);
    const hi = Number(range[2]);
    if (lo <= hi && hi <= 4294967294) return `${lo}-${hi}`;
    ctx.report('user-invalid', path, lo > hi ? `${what} range '${v}' is reversed (the kernel refuses it); write "${hi}-${lo}"` : `${what} id range '${v}' goes past 4294967294`);
    return undefined;
  }
  if (/^[0-9]+$/.test(v) && Number(v) <= 4294967294) return String(Number(v));
  if (NAME.test(v)) return v;
  ctx.report('user-invalid', path, `'${v}' is not a valid ${what} name, id or range "1000-1010"`);
  return undefined;
}

/**
 * A user may not open NEW outbound connections, nor send packets conntrack does not follow
 * (UNTRACKED: from a `notrack` service's port, which the accept of that service's replies would
 * otherwise let out to anywhere). ESTABLISHED,RELATED is accepted earlier, so replies of tracked
 * services the user runs still flow. Exceptions RETURN from the user's own chain, so
 * they stay subject to the outbound rules that follow (an exception is a hole in this block, not
 * an allow that overrides other blocks).
 */
export function usersSection(ctx: Context, b: RulesetBuilder): void {
  (ctx.policy.users ?? []).forEach((u: UserRule, i) => {
    const path: Path = ['users', i];
    const origin = ctx.origin(path, u.name);
    if (u.name !== undefined && !ctx.ruleName(origin.label, path, 'name')) return;
    if ((u.user === undefined) === (u.group === undefined)) {
      ctx.report('user-invalid', path, 'give exactly one of `user` or `group`');
      return;
    }
    const by = u.user !== undefined ? 'uid' : 'gid';
    const id = ownerId(ctx, (u.user ?? u.group)!, [...path, by === 'uid' ? 'user' : 'group'], by === 'uid' ? 'user' : 'group');
    const verdict = resolveAction(ctx, u.outbound, 'deny');
    const log = resolveLog(ctx, u.log, [...path, 'log'], verdict);
    const exceptions: Selector[] = [];
    let ok = id !== undefined && log !== undefined;
    (u.except ?? []).forEach((e, k) => {
      const ep: Path = [...path, 'except', k];
      const ports = ctx.ports(e.port, [...ep, 'port']);
      const protos = ctx.protos(e.proto, e.port !== undefined, [...ep, e.proto !== undefined ? 'proto' : 'port']);
      const dst = ctx.addrs(e.to, [...ep, 'to']);
      const out = ctx.iface(e.interface, [...ep, 'interface']);
      if (ports === undefined || protos === undefined || dst === undefined || out === undefined) {
        ok = false;
        return;
      }
      const sel = selector(ctx, { protos, ports, src: null, dst, outIface: out }, u.family, ep, undefined, 'to');
      if (sel) exceptions.push(sel);
      else ok = false;
    });
    if (!ok) return;
    const owner: Match[] = [{ kind: 'owner', by, id: id! }, { kind: 'ctstate', states: ['NEW', 'UNTRACKED'], negate: false }];
    const families = chosenFamilies(u.family);
    const chainName = `ipf-user-${i + 1}`;
    for (const f of families) {
      const holes = exceptions.filter((s) => s.families.includes(f)).flatMap((s) => expand(s, f));
      if (holes.length === 0 && !log) {
        b.add(f, 'filter', 'OUTPUT', 'users', verdictRules(owner, verdict, origin));
        continue;
      }
      const holeOrigin = relabel(origin, `${origin.label} (except)`);
      b.addUserChain(f, 'filter', chainName, [
        ...holes.map((m) => rule(m, ret, holeOrigin)),
        ...ownChainRules(null, log!, verdict, origin),
      ]);
      b.add(f, 'filter', 'OUTPUT', 'users', [rule(owner, jump(chainName), origin)]);
    }
  });
}

