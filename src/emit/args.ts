import { familyRecord } from '../ir/family.js';
import { assertNever, type Family, type Match, type PortRange, type Rule, type Target } from '../ir/ir.js';
import { quoteArg, quoted } from './quote.js';

const portText = (r: PortRange, sep: string): string => (r.lo === r.hi ? String(r.lo) : `${r.lo}${sep}${r.hi}`);

/** iptables-save's order: addresses, interfaces and protocol first, then match modules as written. */
const RANK: Partial<Record<Match['kind'], number>> = { src: 0, dst: 1, in: 2, out: 3, proto: 4 };
const rank = (m: Match): number => RANK[m.kind] ?? 5;

export function matchArgs(m: Match, f: Family): string[] {
  const rec = familyRecord(f);
  switch (m.kind) {
    case 'src':
      return [...(m.negate ? ['!'] : []), '-s', m.cidr];
    case 'dst':
      return [...(m.negate ? ['!'] : []), '-d', m.cidr];
    case 'iprange':
      return ['-m', 'iprange', ...(m.negate ? ['!'] : []), m.dir === 'src' ? '--src-range' : '--dst-range', `${m.from}-${m.to}`];
    case 'ctdir':
      return ['-m', 'conntrack', '--ctdir', m.dir];
    case 'ctorigdst':
      return ['-m', 'conntrack', '--ctorigdst', m.cidr];
    case 'set':
      return ['-m', 'set', '--match-set', quoteArg(m.name), m.dir];
    case 'in':
      return ['-i', quoteArg(m.iface)];
    case 'out':
      return ['-o', quoteArg(m.iface)];
    case 'proto':
      return ['-p', m.proto === 'icmp' ? rec.icmpProto : m.proto];
    case 'dports':
      return m.ports.length === 1
        ? ['-m', m.proto, '--dport', portText(m.ports[0]!, ':')]
        : ['-m', 'multiport', '--dports', m.ports.map((p) => portText(p, ':')).join(',')];
    case 'icmp-type':
      return ['-m', rec.icmpModule, rec.icmpTypeOption, m.name];
    case 'hop-limit':
      return ['-m', rec.hopLimitMatch[0], rec.hopLimitMatch[1], String(m.eq)];
    case 'ctstate':
      return ['-m', 'conntrack', ...(m.negate ? ['!'] : []), '--ctstate', m.states.join(',')];
    case 'ctorigdstport':
      return ['-m', 'conntrack', '--ctorigdstport', portText(m.ports, ':')];
    case 'owner':
      return ['-m', 'owner', m.by === 'uid' ? '--uid-owner' : '--gid-owner', quoteArg(m.id)];
    case 'limit':
      return ['-m', 'limit', '--limit', m.rate, '--limit-burst', String(m.burst)];
    case 'hashlimit':
      return ['-m', 'hashlimit', '--hashlimit-above', m.above, '--hashlimit-burst', String(m.burst), ...(m.perSource ? ['--hashlimit-mode', 'srcip'] : []), '--hashlimit-name', m.name];
    default:
      return assertNever(m);
  }
}

export function targetArgs(t: Target, f: Family): string[] {
  const rec = familyRecord(f);
  switch (t.kind) {
    case 'accept':
      return ['-j', 'ACCEPT'];
    case 'drop':
      return ['-j', 'DROP'];
    case 'reject':
      return ['-j', 'REJECT', '--reject-with', rec.rejectWith[t.with]];
    case 'return':
      return ['-j', 'RETURN'];
    case 'jump':
      return ['-j', quoteArg(t.chain)];
    case 'log':
      return ['-j', 'LOG', '--log-prefix', quoted(t.prefix)];
    case 'redirect':
      return ['-j', 'REDIRECT', '--to-ports', String(t.toPort)];
    case 'mark':
      return ['-j', 'MARK', '--set-mark', String(t.mark)];
    default:
      return assertNever(t);
  }
}

/** One rule rendered: the text after `-A CHAIN`, and what the argument limits are checked on. */
export interface RenderedRule {
  readonly text: string;
  readonly count: number;
  /** Bytes of the longest single argument. */
  readonly longestArg: number;
}

const rendered: Record<Family, WeakMap<Rule, RenderedRule>> = { ipv4: new WeakMap(), ipv6: new WeakMap() };

/** A rule's line, rendered once and shared by the limit checks and the emitter. */
export function renderRule(r: Rule, f: Family): RenderedRule {
  const hit = rendered[f].get(r);
  if (hit) return hit;
  const args = renderArgs(r, f);
  let longestArg = 0;
  for (const a of args) {
    // UTF-8 uses at most 3 bytes per UTF-16 unit, so most arguments need no byte count.
    const bytes = a.length * 3 <= longestArg ? 0 : Buffer.byteLength(a, 'utf8');
    if (bytes > longestArg) longestArg = bytes;
  }
  const out = { text: args.join(' '), count: args.length, longestArg };
  rendered[f].set(r, out);
  return out;
}


const quotedLabels = new Map<string, string>();

function renderArgs(r: Rule, f: Family): string[] {
  let ms = r.matches;
  // Rules are built in canonical order almost always; sort (stably) only when they are not.
  for (let i = 1; i < ms.length; i++) {
    if (rank(ms[i]!) < rank(ms[i - 1]!)) {
      ms = ms.map((m, k) => ({ m, k })).sort((a, b) => rank(a.m) - rank(b.m) || a.k - b.k).map((x) => x.m);
      break;
    }
  }
  const out: string[] = [];
  for (const m of ms) for (const a of matchArgs(m, f)) out.push(a);
  let label = quotedLabels.get(r.origin.label);
  if (label === undefined) {
    label = quoted(r.origin.label);
    if (quotedLabels.size < 100_000) quotedLabels.set(r.origin.label, label);
  }
  out.push('-m', 'comment', '--comment', label);
  for (const a of targetArgs(r.target, f)) out.push(a);
  return out;
}
