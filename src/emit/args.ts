import { familyRecord } from '../ir/family.js';
import { assertNever, type Chain, type Family, type Match, type PortRange, type Rule, type Target } from '../ir/ir.js';
import { quoteArg, quoted } from './quote.js';

const portText = (r: PortRange, sep: string): string => (r.lo === r.hi ? String(r.lo) : `${r.lo}${sep}${r.hi}`);

/** iptables-save's order: addresses, interfaces and protocol first, then match modules as written. */
const RANK: Partial<Record<Match['kind'], number>> = { src: 0, dst: 1, in: 2, out: 3, proto: 4 };
const rank = (m: Match): number => RANK[m.kind] ?? 5;

/** Appends a match's arguments to `out` (no array per match: this runs for every match of every rule). */
export function pushMatchArgs(m: Match, f: Family, out: string[]): void {
  const rec = familyRecord(f);
  switch (m.kind) {
    case 'src':
    case 'dst':
      if (m.negate) out.push('!');
      out.push(m.kind === 'src' ? '-s' : '-d', m.cidr);
      return;
    case 'iprange':
      out.push('-m', 'iprange');
      if (m.negate) out.push('!');
      out.push(m.dir === 'src' ? '--src-range' : '--dst-range', `${m.from}-${m.to}`);
      return;
    case 'ctdir':
      out.push('-m', 'conntrack', '--ctdir', m.dir);
      return;
    case 'ctorigdst':
      out.push('-m', 'conntrack', '--ctorigdst', m.cidr);
      return;
    case 'set':
      out.push('-m', 'set', '--match-set', quoteArg(m.name), m.dir);
      return;
    case 'in':
      out.push('-i', quoteArg(m.iface));
      return;
    case 'out':
      out.push('-o', quoteArg(m.iface));
      return;
    case 'proto':
      out.push('-p', m.proto === 'icmp' ? rec.icmpProto : m.proto);
      return;
    case 'dports':
      if (m.ports.length === 1) out.push('-m', m.proto, '--dport', portText(m.ports[0]!, ':'));
      else out.push('-m', 'multiport', '--dports', m.ports.map((p) => portText(p, ':')).join(','));
      return;
    case 'icmp-type':
      out.push('-m', rec.icmpModule, rec.icmpTypeOption, m.name);
      return;
    case 'hop-limit':
      out.push('-m', rec.hopLimitMatch[0], rec.hopLimitMatch[1], String(m.eq));
      return;
    case 'ctstate':
      out.push('-m', 'conntrack');
      if (m.negate) out.push('!');
      out.push('--ctstate', m.states.join(','));
      return;
    case 'ctorigdstport':
      out.push('-m', 'conntrack', '--ctorigdstport', portText(m.ports, ':'));
      return;
    case 'owner':
      out.push('-m', 'owner', m.by === 'uid' ? '--uid-owner' : '--gid-owner', quoteArg(m.id));
      return;
    case 'limit':
      out.push('-m', 'limit', '--limit', m.rate, '--limit-burst', String(m.burst));
      return;
    case 'hashlimit':
      out.push('-m', 'hashlimit', '--hashlimit-above', m.above, '--hashlimit-burst', String(m.burst));
      if (m.perSource) out.push('--hashlimit-mode', 'srcip');
      out.push('--hashlimit-name', m.name);
      return;
    default:
      assertNever(m);
  }
}

// Shared: the verdicts of 100,000 rules need not be 100,000 arrays.
const ACCEPT_ARGS: readonly string[] = ['-j', 'ACCEPT'];
const DROP_ARGS: readonly string[] = ['-j', 'DROP'];
const RETURN_ARGS: readonly string[] = ['-j', 'RETURN'];

export function targetArgs(t: Target, f: Family): readonly string[] {
  const rec = familyRecord(f);
  switch (t.kind) {
    case 'accept':
      return ACCEPT_ARGS;
    case 'drop':
      return DROP_ARGS;
    case 'reject':
      return ['-j', 'REJECT', '--reject-with', rec.rejectWith[t.with]];
    case 'return':
      return RETURN_ARGS;
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

/** iptables-restore refuses a longer argument ("Parameter too long!"). */
export const ARG_MAX_BYTES = 1023;
/** UTF-8 takes at most 3 bytes per UTF-16 unit: a shorter argument is surely within the limit. */
const SURELY_SHORT = Math.floor(ARG_MAX_BYTES / 3);

/**
 * A chain's rules rendered: their lines as one text, and per rule what the limit checks need. No
 * string per line outlives the rendering: 100,000 of them would be copied by every garbage
 * collection until the file is written.
 */
export interface RenderedChain {
  /** The rule lines (`-A CHAIN ...`) in batches of up to BATCH, each joined by newlines; none for a chain without rules. */
  readonly batches: readonly string[];
  /** Per rule: its arguments after `-A CHAIN`. */
  readonly counts: Uint32Array;
  /** Per rule: the bytes of its longest argument, counted only when one may exceed ARG_MAX_BYTES; else 0. */
  readonly longArg: Uint32Array;
  /** Per rule: its line's length in UTF-16 units (at most a third of its bytes). */
  readonly lengths: Uint32Array;
}

const rendered: Record<Family, WeakMap<Chain, RenderedChain>> = { ipv4: new WeakMap(), ipv6: new WeakMap() };
/** Lines are joined in batches of this many, so that each lives only briefly. */
const BATCH = 1024;

/** A chain's rules, rendered once and shared by the limit checks and the emitter (keyed by chain: a few entries, not one per rule). */
export function renderChain(c: Chain, f: Family): RenderedChain {
  const hit = rendered[f].get(c);
  if (hit) return hit;
  const n = c.rules.length;
  const counts = new Uint32Array(n);
  const longArg = new Uint32Array(n);
  const lengths = new Uint32Array(n);
  // Batches stay apart: the writer writes them one by one, so the chain's text is never copied whole.
  const batches: string[] = [];
  const batch: string[] = [];
  const args: string[] = ['-A', c.name];
  for (let k = 0; k < n; k++) {
    args.length = 2;
    renderArgs(c.rules[k]!, f, args);
    let longest = 0;
    for (let i = 2; i < args.length; i++) {
      const a = args[i]!;
      if (a.length <= SURELY_SHORT) continue;
      const bytes = Buffer.byteLength(a, 'utf8');
      if (bytes > longest) longest = bytes;
    }
    const line = args.join(' ');
    batch.push(line);
    counts[k] = args.length - 2;
    longArg[k] = longest;
    lengths[k] = line.length;
    if (batch.length === BATCH) {
      batches.push(batch.join('\n'));
      batch.length = 0;
    }
  }
  if (batch.length > 0) batches.push(batch.join('\n'));
  const out = { batches, counts, longArg, lengths };
  rendered[f].set(c, out);
  return out;
}

/** One rule's line, for the rare check that needs its text again (a line that may be too long). */
export function renderLine(c: Chain, r: Rule, f: Family): string {
  const args = ['-A', c.name];
  renderArgs(r, f, args);
  return args.join(' ');
}

// Consecutive rules mostly share their origin: its quoted comment is reused.
let lastLabel: string | undefined;
let lastQuoted = '';

function renderArgs(r: Rule, f: Family, out: string[]): void {
  let ms = r.matches;
  // Rules are built in canonical order almost always; sort (stably) only when they are not.
  for (let i = 1; i < ms.length; i++) {
    if (rank(ms[i]!) < rank(ms[i - 1]!)) {
      ms = ms.map((m, k) => ({ m, k })).sort((a, b) => rank(a.m) - rank(b.m) || a.k - b.k).map((x) => x.m);
      break;
    }
  }
  // Indexed loops: in code not yet optimized, for-of allocates an iterator and a result per step.
  for (let i = 0; i < ms.length; i++) pushMatchArgs(ms[i]!, f, out);
  if (r.origin.label !== lastLabel) {
    lastQuoted = quoted(r.origin.label);
    lastLabel = r.origin.label;
  }
  out.push('-m', 'comment', '--comment', lastQuoted);
  const target = targetArgs(r.target, f);
  for (let i = 0; i < target.length; i++) out.push(target[i]!);
}
