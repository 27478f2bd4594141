import { familyRecord } from '../../model/family.js';
import { assertNever, type Chain, type Family, type Match, type PortRange, type Rule, type Target } from '../../model/ir.js';
import { quoteArg, quoted } from './quote.js';
import { memo } from '../../util/memo.js';

const portText = (r: PortRange, sep: string): string => (r.lo === r.hi ? String(r.lo) : `${r.lo}${sep}${r.hi}`);

/** iptables-save's order: addresses, interfaces and protocol first, then match modules as written. */
function rank(m: Match): number {
  switch (m.kind) {
    case 'src':
      return 0;
    case 'dst':
      return 1;
    case 'in':
      return 2;
    case 'out':
      return 3;
    case 'proto':
      return 4;
    default:
      return 5;
  }
}

/** A run of arguments that never changes (`-m comment --comment`), joined once, with its count. */
interface Words {
  readonly text: string;
  readonly count: number;
}

function words(...args: string[]): Words {
  return { text: ` ${args.join(' ')}`, count: args.length };
}

/** Words made from a few names (protocols, families' modules), once per name. */
function wordsBy<K extends string>(make: (k: K) => string[]): (k: K) => Words {
  const made = new Map<K, Words>();
  return (k) => {
    let w = made.get(k);
    if (w === undefined) made.set(k, (w = words(...make(k))));
    return w;
  };
}

const NOT = words('!');
const SRC = words('-s');
const DST = words('-d');
const IN = words('-i');
const OUT = words('-o');
const COMMENT = words('-m', 'comment', '--comment');
const protoWords = wordsBy((p: string) => ['-p', p]);
const dportWords = wordsBy((p: string) => ['-m', p, '--dport']);
const MULTIPORT = words('-m', 'multiport', '--dports');
const sportWords = wordsBy((p: string) => ['-m', p, '--sport']);
const MULTIPORT_SOURCE = words('-m', 'multiport', '--sports');
const ACCEPT = words('-j', 'ACCEPT');
const DROP = words('-j', 'DROP');
const RETURN = words('-j', 'RETURN');

/** Appends a match's arguments to `out`. */
function addMatch(m: Match, f: Family, out: Line): void {
  const rec = familyRecord(f);
  switch (m.kind) {
    case 'src':
    case 'dst':
      if (m.negate) out.words(NOT);
      out.words(m.kind === 'src' ? SRC : DST).add(m.cidr);
      return;
    case 'iprange':
      out.add('-m').add('iprange');
      if (m.negate) out.words(NOT);
      out.add(m.dir === 'src' ? '--src-range' : '--dst-range').add(`${m.from}-${m.to}`);
      return;
    case 'ctdir':
      out.add('-m').add('conntrack').add('--ctdir').add(m.dir);
      return;
    case 'ctorigdst':
      out.add('-m').add('conntrack').add('--ctorigdst').add(m.cidr);
      return;
    case 'set':
      out.add('-m').add('set').add('--match-set').add(quoteArg(m.name)).add(m.dir);
      return;
    case 'in':
      out.words(IN).add(quoteArg(m.iface));
      return;
    case 'out':
      out.words(OUT).add(quoteArg(m.iface));
      return;
    case 'proto':
      out.words(protoWords(m.proto === 'icmp' ? rec.icmpProto : m.proto));
      return;
    case 'dports':
      if (m.ports.length === 1) out.words(dportWords(m.proto)).add(portText(m.ports[0]!, ':'));
      else out.words(MULTIPORT).add(m.ports.map((p) => portText(p, ':')).join(','));
      return;
    case 'sports':
      if (m.ports.length === 1) out.words(sportWords(m.proto)).add(portText(m.ports[0]!, ':'));
      else out.words(MULTIPORT_SOURCE).add(m.ports.map((p) => portText(p, ':')).join(','));
      return;
    case 'icmp-type':
      out.add('-m').add(rec.icmpModule).add(rec.icmpTypeOption).add(m.name);
      return;
    case 'hop-limit':
      out.add('-m').add(rec.hopLimitMatch[0]).add(rec.hopLimitMatch[1]).add(String(m.eq));
      return;
    case 'ctstate':
      out.add('-m').add('conntrack');
      if (m.negate) out.words(NOT);
      out.add('--ctstate').add(m.states.join(','));
      return;
    case 'ctorigdstport':
      out.add('-m').add('conntrack').add('--ctorigdstport').add(portText(m.ports, ':'));
      return;
    case 'owner':
      out.add('-m').add('owner').add(m.by === 'uid' ? '--uid-owner' : '--gid-owner').add(quoteArg(m.id));
      return;
    case 'limit':
      out.add('-m').add('limit').add('--limit').add(m.rate).add('--limit-burst').add(String(m.burst));
      return;
    case 'hashlimit':
      out.add('-m').add('hashlimit').add('--hashlimit-above').add(m.above).add('--hashlimit-burst').add(String(m.burst));
      if (m.perSource) out.add('--hashlimit-mode').add('srcip');
      out.add('--hashlimit-name').add(m.name);
      return;
    case 'opaque':
      out.add('-m').add(quoteArg(m.module));
      for (const a of m.args) out.add(quoteArg(a));
      return;
    default:
      assertNever(m);
  }
}

/** Appends the target's arguments to `out`. */
function addTarget(t: Target, f: Family, out: Line): void {
  const rec = familyRecord(f);
  switch (t.kind) {
    case 'accept':
      out.words(ACCEPT);
      return;
    case 'drop':
      out.words(DROP);
      return;
    case 'return':
      out.words(RETURN);
      return;
    case 'reject':
      out.add('-j').add('REJECT').add('--reject-with').add(rec.rejectWith[t.with]);
      return;
    case 'jump':
      out.add('-j').add(quoteArg(t.chain));
      return;
    case 'log':
      if (t.nflog === undefined) out.add('-j').add('LOG').add('--log-prefix').add(quoted(t.prefix));
      else out.add('-j').add('NFLOG').add('--nflog-group').add(String(t.nflog)).add('--nflog-prefix').add(quoted(t.prefix));
      return;
    case 'redirect':
      out.add('-j').add('REDIRECT').add('--to-ports').add(String(t.toPort));
      return;
    case 'dnat': {
      const [open, close] = rec.portedAddress;
      out.add('-j').add('DNAT').add('--to-destination').add(t.toPort === undefined ? t.to : `${open}${t.to}${close}:${t.toPort}`);
      return;
    }
    case 'snat':
      out.add('-j').add('SNAT').add('--to-source').add(t.to);
      return;
    case 'masquerade':
      out.add('-j').add('MASQUERADE');
      return;
    case 'notrack':
      out.add('-j').add('CT').add('--notrack');
      return;
    case 'helper':
      out.add('-j').add('CT').add('--helper').add(t.helper);
      return;
    case 'mark':
      out.add('-j').add('MARK').add('--set-mark').add(String(t.mark));
      return;
    default:
      assertNever(t);
  }
}

/** iptables-restore refuses a longer argument ("Parameter too long!"). */
export const ARG_MAX_BYTES = 1023;
/** UTF-8 takes at most 3 bytes per UTF-16 unit: a shorter argument is surely within the limit. */
const SURELY_SHORT = Math.floor(ARG_MAX_BYTES / 3);

/** A chain's rules rendered: their lines, and per rule what the output's guards measure. */
export interface RenderedChain {
  /** The rule lines (`-A CHAIN ...`) joined by newlines in batches of about BATCH_CHARS; none for a chain without rules. */
  readonly batches: readonly string[];
  /** Per rule: its arguments after `-A CHAIN`. */
  readonly counts: Uint32Array;
  /** Per rule: the bytes of its longest argument, counted only when one may exceed ARG_MAX_BYTES; else 0. */
  readonly longArg: Uint32Array;
  /** Per rule: its line's length in UTF-16 units (at most a third of its bytes). */
  readonly lengths: Uint32Array;
  /** The largest count, longArg and length: a chain under the limits needs no look at its rules. */
  readonly most: { readonly count: number; readonly longArg: number; readonly length: number };
}

const rendered: Record<Family, WeakMap<Chain, RenderedChain>> = { ipv4: new WeakMap(), ipv6: new WeakMap() };

/**
 * Lines are joined in batches rather than kept one string each until the file is written: a
 * 50,000-rule policy has 100,000 lines, which would all stay in memory (and be copied by each
 * garbage collection) until then.
 */
const BATCH_CHARS = 128 * 1024;

/** One rule line as it is built: its text, its argument count and its longest argument's bytes. */
class Line {
  text = '';
  count = 0;
  longest = 0;

  start(chain: string): void {
    this.text = `-A ${chain}`;
    this.count = 0;
    this.longest = 0;
  }

  /** Constant arguments: none is near the length limit, so no byte count is needed. */
  words(w: Words): this {
    this.text += w.text;
    this.count += w.count;
    return this;
  }

  add(arg: string): this {
    this.text += ` ${arg}`;
    this.count++;
    if (arg.length > SURELY_SHORT) {
      const bytes = Buffer.byteLength(arg, 'utf8');
      if (bytes > this.longest) this.longest = bytes;
    }
    return this;
  }
}

/** A chain's rules, rendered once and shared by the output's guards and the emitter. */
export function renderChain(c: Chain, f: Family): RenderedChain {
  const cache = rendered[f];
  let out = cache.get(c);
  if (out === undefined) cache.set(c, (out = renderRules(c.rules, c.name, f)));
  return out;
}

function renderRules(rules: readonly Rule[], chainName: string, f: Family): RenderedChain {
  const n = rules.length;
  const batches: string[] = [];
  const counts = new Uint32Array(n);
  const longArg = new Uint32Array(n);
  const lengths = new Uint32Array(n);
  const most = { count: 0, longArg: 0, length: 0 };
  let batch: string[] = [];
  let batchChars = 0;
  const line = new Line();
  for (let k = 0; k < n; k++) {
    line.start(chainName);
    addRule(rules[k]!, f, line);
    batch.push(line.text);
    counts[k] = line.count;
    longArg[k] = line.longest;
    lengths[k] = line.text.length;
    most.count = Math.max(most.count, line.count);
    most.longArg = Math.max(most.longArg, line.longest);
    most.length = Math.max(most.length, line.text.length);
    batchChars += line.text.length + 1;
    if (batchChars > BATCH_CHARS) {
      batches.push(batch.join('\n'));
      batch = [];
      batchChars = 0;
    }
  }
  if (batch.length > 0) batches.push(batch.join('\n'));
  return { batches, counts, longArg, lengths, most };
}

/** One rule's line, for the guard that needs its text again (a line that may be too long). */
export function renderLine(c: Chain, r: Rule, f: Family): string {
  const line = new Line();
  line.start(c.name);
  addRule(r, f, line);
  return line.text;
}

// Rules mostly share their origin with others (a rule per family, port chunk or address).
const quotedLabel = memo(quoted, 10_000);

function addRule(r: Rule, f: Family, out: Line): void {
  let ms = r.matches;
  // Rules are built in canonical order almost always; sort (stably) only when they are not.
  let previous = ms.length > 0 ? rank(ms[0]!) : 0;
  for (let i = 1; i < ms.length; i++) {
    const current = rank(ms[i]!);
    if (current < previous) {
      ms = ms.map((m, k) => ({ m, k })).sort((a, b) => rank(a.m) - rank(b.m) || a.k - b.k).map((x) => x.m);
      break;
    }
    previous = current;
  }
  for (const m of ms) addMatch(m, f, out);
  // A hook jump has no comment (see Origin.label).
  if (r.origin.label !== '') out.words(COMMENT).add(quotedLabel(r.origin.label));
  addTarget(r.target, f, out);
}
