import { familyRecord } from '../model/family.js';
import { assertNever, type Chain, type Family, type Match, type PortRange, type Rule, type Target } from '../model/ir.js';
import { MATCH_BIT, TARGET_BIT } from '../model/kinds.js';
import { quoteArg, quoted } from './quote.js';

const portText = (r: PortRange, sep: string): string => (r.lo === r.hi ? String(r.lo) : `${r.lo}${sep}${r.hi}`);

/**
 * iptables-save's order: addresses, interfaces and protocol first, then match modules as written.
 * A switch, not a table looked up by kind: each new kind a table lookup met made V8 drop the
 * optimized rendering.
 */
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

/**
 * A run of arguments that never changes, joined once: one piece of a line's text instead of one
 * per argument (each piece is a node of the line's rope until its batch is joined).
 */
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
const ACCEPT = words('-j', 'ACCEPT');
const DROP = words('-j', 'DROP');
const RETURN = words('-j', 'RETURN');

/** Appends a match's arguments to `out` (no array per match: this runs for every match of every rule). */
function addMatch(m: Match, f: Family, out: Line): void {
  const rec = familyRecord(f);
  switch (m.kind) {
    case 'src':
    case 'dst':
      out.kinds |= m.kind === 'src' ? MATCH_BIT.src : MATCH_BIT.dst;
      if (m.negate) out.words(NOT);
      out.words(m.kind === 'src' ? SRC : DST).add(m.cidr);
      return;
    case 'iprange':
      out.kinds |= MATCH_BIT.iprange;
      out.add('-m').add('iprange');
      if (m.negate) out.words(NOT);
      out.add(m.dir === 'src' ? '--src-range' : '--dst-range').add(`${m.from}-${m.to}`);
      return;
    case 'ctdir':
      out.kinds |= MATCH_BIT.ctdir;
      out.add('-m').add('conntrack').add('--ctdir').add(m.dir);
      return;
    case 'ctorigdst':
      out.kinds |= MATCH_BIT.ctorigdst;
      out.add('-m').add('conntrack').add('--ctorigdst').add(m.cidr);
      return;
    case 'set':
      out.kinds |= MATCH_BIT.set;
      out.add('-m').add('set').add('--match-set').add(quoteArg(m.name)).add(m.dir);
      return;
    case 'in':
      out.kinds |= MATCH_BIT.in;
      out.words(IN).add(quoteArg(m.iface));
      return;
    case 'out':
      out.kinds |= MATCH_BIT.out;
      out.words(OUT).add(quoteArg(m.iface));
      return;
    case 'proto':
      out.kinds |= MATCH_BIT.proto;
      out.words(protoWords(m.proto === 'icmp' ? rec.icmpProto : m.proto));
      return;
    case 'dports':
      out.kinds |= MATCH_BIT.dports;
      if (m.ports.length === 1) out.words(dportWords(m.proto)).add(portText(m.ports[0]!, ':'));
      else {
        out.words(MULTIPORT).add(m.ports.map((p) => portText(p, ':')).join(','));
        if (m.ports.length > out.portRanges) out.portRanges = m.ports.length;
      }
      return;
    case 'icmp-type':
      out.kinds |= MATCH_BIT['icmp-type'];
      out.add('-m').add(rec.icmpModule).add(rec.icmpTypeOption).add(m.name);
      return;
    case 'hop-limit':
      out.kinds |= MATCH_BIT['hop-limit'];
      out.add('-m').add(rec.hopLimitMatch[0]).add(rec.hopLimitMatch[1]).add(String(m.eq));
      return;
    case 'ctstate':
      out.kinds |= MATCH_BIT.ctstate;
      out.add('-m').add('conntrack');
      if (m.negate) out.words(NOT);
      out.add('--ctstate').add(m.states.join(','));
      return;
    case 'ctorigdstport':
      out.kinds |= MATCH_BIT.ctorigdstport;
      out.add('-m').add('conntrack').add('--ctorigdstport').add(portText(m.ports, ':'));
      return;
    case 'owner':
      out.kinds |= MATCH_BIT.owner;
      out.add('-m').add('owner').add(m.by === 'uid' ? '--uid-owner' : '--gid-owner').add(quoteArg(m.id));
      return;
    case 'limit':
      out.kinds |= MATCH_BIT.limit;
      out.add('-m').add('limit').add('--limit').add(m.rate).add('--limit-burst').add(String(m.burst));
      return;
    case 'hashlimit':
      out.kinds |= MATCH_BIT.hashlimit;
      out.add('-m').add('hashlimit').add('--hashlimit-above').add(m.above).add('--hashlimit-burst').add(String(m.burst));
      if (m.perSource) out.add('--hashlimit-mode').add('srcip');
      out.add('--hashlimit-name').add(m.name);
      return;
    default:
      assertNever(m);
  }
}

/** Appends the target's arguments to `out`. */
function addTarget(t: Target, f: Family, out: Line): void {
  const rec = familyRecord(f);
  switch (t.kind) {
    // Apart, not TARGET[t.kind]: a lookup by kind made V8 drop the optimized rendering at each new kind.
    case 'accept':
      out.kinds |= TARGET_BIT.accept;
      out.words(ACCEPT);
      return;
    case 'drop':
      out.kinds |= TARGET_BIT.drop;
      out.words(DROP);
      return;
    case 'return':
      out.kinds |= TARGET_BIT.return;
      out.words(RETURN);
      return;
    case 'reject':
      out.kinds |= TARGET_BIT.reject;
      out.add('-j').add('REJECT').add('--reject-with').add(rec.rejectWith[t.with]);
      return;
    case 'jump':
      out.kinds |= TARGET_BIT.jump;
      out.add('-j').add(quoteArg(t.chain));
      return;
    case 'log':
      out.kinds |= TARGET_BIT.log;
      out.add('-j').add('LOG').add('--log-prefix').add(quoted(t.prefix));
      return;
    case 'redirect':
      out.kinds |= TARGET_BIT.redirect;
      out.add('-j').add('REDIRECT').add('--to-ports').add(String(t.toPort));
      return;
    case 'mark':
      out.kinds |= TARGET_BIT.mark;
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

/**
 * A chain's rules rendered: their lines as one text, and per rule what the limit checks need. No
 * string per line outlives the rendering: 100,000 of them would be copied by every garbage
 * collection until the file is written.
 */
export interface RenderedChain {
  /** The rule lines (`-A CHAIN ...`) in batches of about BATCH_CHARS, each joined by newlines; none for a chain without rules. */
  readonly batches: readonly string[];
  /** Per rule: its arguments after `-A CHAIN`. */
  readonly counts: Uint32Array;
  /** Per rule: the bytes of its longest argument, counted only when one may exceed ARG_MAX_BYTES; else 0. */
  readonly longArg: Uint32Array;
  /** Per rule: its line's length in UTF-16 units (at most a third of its bytes). */
  readonly lengths: Uint32Array;
  /** Per rule: its match kinds and target kind as bits (MATCH_BIT, TARGET_BIT). */
  readonly kinds: Uint32Array;
  /** Every bit of `kinds`: a walk over kinds that no rule of the chain has skips it. */
  readonly anyKinds: number;
  /**
   * The largest of counts, longArg and lengths, and the most port ranges in one multiport match:
   * a chain under the limits needs no visit of its rules.
   */
  readonly most: { readonly count: number; readonly longArg: number; readonly length: number; readonly portRanges: number };
}

const rendered: Record<Family, WeakMap<Chain, RenderedChain>> = { ipv4: new WeakMap(), ipv6: new WeakMap() };
/**
 * Lines are joined in batches of at least this many characters: a string this long is allocated
 * outside V8's young generation (its objects above 128 KiB are), so the 10 MB of a 50,000-rule
 * policy's lines are never copied by its collections, while each line's rope lives only until
 * its batch is joined.
 */
const BATCH_CHARS = 132 * 1024;

/**
 * One rule line as it is built: its text, and what the limit checks need. The text grows by
 * concatenation, not from an array joined at the end: V8 keeps the pieces as a rope until the
 * batch's join flattens it, which at 100,000 lines is faster than filling and joining an array
 * per line.
 */
class Line {
  text = '';
  /** Arguments after `-A CHAIN`. */
  count = 0;
  /** Bytes of the longest argument, counted only when one may exceed ARG_MAX_BYTES; else 0. */
  longest = 0;
  /** The most port ranges in one multiport match of the line. */
  portRanges = 0;
  /** The rule's match kinds and target kind (MATCH_BIT, TARGET_BIT). */
  kinds = 0;

  start(chain: string): void {
    this.text = `-A ${chain}`;
    this.count = 0;
    this.longest = 0;
    this.portRanges = 0;
    this.kinds = 0;
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

/** A chain's rules, rendered once and shared by the limit checks and the emitter (keyed by chain: a few entries, not one per rule). */
export function renderChain(c: Chain, f: Family): RenderedChain {
  const cache = rendered[f];
  let out = cache.get(c);
  if (out === undefined) cache.set(c, (out = renderRules(c.rules, c.name, f)));
  return out;
}

/**
 * The rendering loop, alone in its function and with nothing after the loop: V8 optimizes the
 * loop while it runs (100,000 rules), and code after it that had never run made V8 drop that
 * optimized code at the end of the first chain, so the next long chain started slow again. It
 * takes the chain's rules and name, not the chain: chains come in two shapes (with and without
 * hookedFrom), and a second shape did the same.
 */
function renderRules(rules: readonly Rule[], chainName: string, f: Family): RenderedChain {
  const n = rules.length;
  // Batches stay apart: the writer writes them one by one, so the chain's text is never copied whole.
  const batches: string[] = [];
  const counts = new Uint32Array(n);
  const longArg = new Uint32Array(n);
  const lengths = new Uint32Array(n);
  const kinds = new Uint32Array(n);
  // Updated in the loop, not after it: the loop's result is complete when it ends.
  const most = { count: 0, longArg: 0, length: 0, portRanges: 0 };
  const out: { -readonly [K in keyof RenderedChain]: RenderedChain[K] } = { batches, counts, longArg, lengths, kinds, anyKinds: 0, most };
  const batch: string[] = [];
  let batchChars = 0;
  const line = new Line();
  for (let k = 0; k < n; k++) {
    line.start(chainName);
    addRule(rules[k]!, f, line);
    const length = line.text.length;
    batch.push(line.text);
    counts[k] = line.count;
    longArg[k] = line.longest;
    lengths[k] = length;
    kinds[k] = line.kinds;
    out.anyKinds |= line.kinds;
    // Stored on every rule: a store that first ran after V8 had optimized the loop made it drop that code.
    most.count = line.count > most.count ? line.count : most.count;
    most.longArg = line.longest > most.longArg ? line.longest : most.longArg;
    most.length = length > most.length ? length : most.length;
    most.portRanges = line.portRanges > most.portRanges ? line.portRanges : most.portRanges;
    batchChars += length + 1;
    if (batchChars > BATCH_CHARS || k === n - 1) {
      batches.push(batch.join('\n'));
      batch.length = 0;
      batchChars = 0;
    }
  }
  return out;
}

/** One rule's line, for the rare check that needs its text again (a line that may be too long). */
export function renderLine(c: Chain, r: Rule, f: Family): string {
  const line = new Line();
  line.start(c.name);
  addRule(r, f, line);
  return line.text;
}

// Consecutive rules mostly share their origin: its quoted comment is reused.
let lastLabel: string | undefined;
let lastQuoted = '';

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
  // Indexed loops: in code not yet optimized, for-of allocates an iterator and a result per step.
  for (let i = 0; i < ms.length; i++) addMatch(ms[i]!, f, out);
  if (r.origin.label !== lastLabel) {
    lastQuoted = quoted(r.origin.label);
    lastLabel = r.origin.label;
  }
  // A hook jump has no comment (see Origin.label).
  if (r.origin.label !== '') out.words(COMMENT).add(lastQuoted);
  addTarget(r.target, f, out);
}
