import { familyRecord } from '../ir/family.js';
import { assertNever, type Chain, type Family, type Match, type PortRange, type Rule, type Target } from '../ir/ir.js';
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

/** A chain's rules rendered: per rule, the text after `-A CHAIN` and what the argument limits are checked on. */
export interface RenderedChain {
  readonly texts: readonly string[];
  readonly counts: readonly number[];
  /** Bytes of each rule's longest single argument. */
  readonly longestArg: readonly number[];
}

const rendered: Record<Family, WeakMap<Chain, RenderedChain>> = { ipv4: new WeakMap(), ipv6: new WeakMap() };

/** A chain's lines, rendered once and shared by the limit checks and the emitter (keyed by chain: a few entries, not one per rule). */
export function renderChain(c: Chain, f: Family): RenderedChain {
  const hit = rendered[f].get(c);
  if (hit) return hit;
  const texts: string[] = [];
  const counts: number[] = [];
  const longestArg: number[] = [];
  const args: string[] = [];
  for (const r of c.rules) {
    args.length = 0;
    renderArgs(r, f, args);
    let longest = 0;
    for (const a of args) {
      // UTF-8 uses at most 3 bytes per UTF-16 unit, so most arguments need no byte count.
      const bytes = a.length * 3 <= longest ? 0 : Buffer.byteLength(a, 'utf8');
      if (bytes > longest) longest = bytes;
    }
    texts.push(args.join(' '));
    counts.push(args.length);
    longestArg.push(longest);
  }
  const out = { texts, counts, longestArg };
  rendered[f].set(c, out);
  return out;
}

const quotedLabels = new Map<string, string>();

function renderArgs(r: Rule, f: Family, out: string[]): void {
  let ms = r.matches;
  // Rules are built in canonical order almost always; sort (stably) only when they are not.
  for (let i = 1; i < ms.length; i++) {
    if (rank(ms[i]!) < rank(ms[i - 1]!)) {
      ms = ms.map((m, k) => ({ m, k })).sort((a, b) => rank(a.m) - rank(b.m) || a.k - b.k).map((x) => x.m);
      break;
    }
  }
  for (const m of ms) for (const a of matchArgs(m, f)) out.push(a);
  let label = quotedLabels.get(r.origin.label);
  if (label === undefined) {
    label = quoted(r.origin.label);
    if (quotedLabels.size < 100_000) quotedLabels.set(r.origin.label, label);
  }
  out.push('-m', 'comment', '--comment', label);
  for (const a of targetArgs(r.target, f)) out.push(a);
}
