/**
 * A reader for the plain subset of YAML that large policies are written in: block mappings and
 * sequences, one-line flow collections, quoted and plain one-line scalars, comments. Anything else
 * (anchors, tags, block scalars, multi-line scalars or flow collections, escapes, tabs, non-ASCII
 * outside comments, ambiguous scalars like 1_000, 0x1F, ~ or .inf) makes it give up, and the
 * caller parses the text with yaml (YAML 1.2, core schema) instead. Where it answers, it answers
 * exactly what yaml answers: test/unit/fast-yaml.test.ts holds it to that on random documents,
 * value for value, and test/unit/fast-positions.test.ts position for position. It exists for
 * speed only: yaml builds a position-keeping tree, about 13 times slower on 50,000 rules. Read a
 * second time with `track`, it gives each node's offset as yaml's tree would
 * (test/unit/fast-positions.test.ts), so diagnostics on large policies need no yaml tree either.
 */

/** Thrown internally to abandon the fast path; never escapes fastYaml. */
const GIVE_UP = Symbol('give up');

const SPACE = 0x20;
const HASH = 0x23;
const COLON = 0x3a;
const DASH = 0x2d;

/** Printable ASCII and newlines only: tabs, CR, BOMs and non-ASCII go to the full parser, except as below. */
const OUTSIDE_SUBSET = /[^\x20-\x7e\n]/;
/**
 * A line whose characters outside printable ASCII are all in its comment: a `#` at the line's
 * start or after a space, with no quote or other `#` before it (so it cannot be inside a scalar),
 * then text without controls, line or paragraph separators or BOMs. Comments are where authors
 * write names and dashes (`# Müller — DB`), and one such character must not send a 50,000-rule
 * policy to the slow parsers.
 */
const NON_ASCII_IN_COMMENT = /^(?:[^'"#\x00-\x1f\x7f-\uffff]* )?#[^\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]*$/;

/** Whether the text has a character outside printable ASCII anywhere but in a comment. */
function outsideSubset(text: string): boolean {
  const outside = new RegExp(OUTSIDE_SUBSET.source, 'g');
  for (let m = outside.exec(text); m !== null; m = outside.exec(text)) {
    const start = text.lastIndexOf('\n', m.index) + 1;
    const end = text.indexOf('\n', m.index);
    const line = text.slice(start, end === -1 ? text.length : end);
    if (!NON_ASCII_IN_COMMENT.test(line)) return true;
    if (end === -1) break;
    outside.lastIndex = end;
  }
  return false;
}

/** Characters of a plain key after its first letter, by char code. */
const KEY_CHAR = new Uint8Array(128);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-') KEY_CHAR[ch.charCodeAt(0)] = 1;
const KEYWORDS: Readonly<Record<string, unknown>> = {
  null: null, Null: null, NULL: null,
  true: true, True: true, TRUE: true,
  false: false, False: false, FALSE: false,
};
/** What a keyword can start with and how long it is: other words skip the lookup, which hashes them. */
const KEYWORD_FIRST = new Uint8Array(128);
for (const k of Object.keys(KEYWORDS)) KEYWORD_FIRST[k.charCodeAt(0)] = 1;
const KEYWORD_MIN = Math.min(...Object.keys(KEYWORDS).map((k) => k.length));
const KEYWORD_MAX = Math.max(...Object.keys(KEYWORDS).map((k) => k.length));

/** The document's value, or undefined when the text is outside the subset. */
export function fastYaml(text: string): { value: unknown } | undefined {
  return read(text, false) as { value: unknown } | undefined;
}

/**
 * Where each node of the document starts, as yaml's tree would say (range[0]), for a text that
 * fastYaml reads. A 50,000-rule policy's yaml tree takes seconds and hundreds of megabytes: this
 * takes a scan of its lines, then reads the block sequence entries that are asked for. So it is
 * only for a text fastYaml has read: it may not see that an entry is outside the subset until that
 * entry is asked for (then it throws).
 */
export function fastPositions(text: string): PosNode | undefined {
  return read(text, true)?.value as PosNode | undefined;
}

/**
 * A node's start offset and what it holds: for a mapping, each key's start and value node; for a
 * sequence, the item nodes; for a scalar, its value.
 */
export interface PosNode {
  readonly at: number;
  readonly of: unknown;
}
export interface PosPair {
  readonly key: number;
  readonly value: PosNode;
}

/**
 * A sequence's item nodes in a position reading. A block sequence's items are read when asked for:
 * a policy with 12,500 findings among 50,000 rules needs 12,500 of them, and reading every rule's
 * positions took longer than compiling the rest of it.
 */
class PosItems {
  private readonly kept: (PosNode | undefined)[] = [];

  constructor(
    readonly length: number,
    private readonly read: (i: number) => PosNode,
    /** Whether an item, once read, is kept for the next time it is asked for. */
    private readonly keep: (i: number) => boolean = () => false,
  ) {}

  static of(nodes: readonly PosNode[]): PosItems {
    return new PosItems(nodes.length, (i) => nodes[i]!);
  }

  item(i: number): PosNode {
    let node = this.kept[i];
    if (node === undefined) {
      node = this.read(i);
      if (this.keep(i)) this.kept[i] = node;
    }
    return node;
  }
}

/**
 * A block sequence entry longer than this is kept once read. A shorter one (a rule on a line or a
 * few) is read again if asked for again, in microseconds: kept, 25,000 findings' entries were 10 MB
 * held until the run ended.
 */
const KEEP_ENTRY_CHARS = 4096;

export const posChildren = (n: PosNode): { map?: Readonly<Record<string, PosPair>>; seq?: PosItems } =>
  n.of instanceof PosItems ? { seq: n.of } : typeof n.of === 'object' && n.of !== null ? { map: n.of as Record<string, PosPair> } : {};

function read(text: string, track: boolean): { value: unknown } | undefined {
  if (outsideSubset(text)) return undefined;
  try {
    return { value: new Reader(text, track).document() };
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  }
}

function giveUp(): never {
  throw GIVE_UP;
}

const isQuote = (c: number): boolean => c === 0x22 || c === 0x27;
/** How a plain word (a key, or a scalar that is no number) starts: A-Z, a-z or _. */
const isLetter = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;

/** A plain scalar's value under the core schema, when every YAML library agrees on it. */
function plainScalar(s: string): unknown {
  const c = s.charCodeAt(0);
  if (c >= 0x30 && c <= 0x39) {
    if (isDecimal(s)) return Number(s);
    // Addresses, CIDRs and rates ("10.0.0.0/8", "10/minute", "2001:db8::1") are no number in any schema.
    if (s.includes('/') || s.includes(':') || s.indexOf('.') !== s.lastIndexOf('.')) return s;
    return giveUp();
  }
  if (!isLetter(c)) return giveUp();
  return isKeyword(s) ? KEYWORDS[s] : s;
}

const isKeyword = (s: string): boolean =>
  s.length >= KEYWORD_MIN && s.length <= KEYWORD_MAX && KEYWORD_FIRST[s.charCodeAt(0)] === 1 && Object.prototype.hasOwnProperty.call(KEYWORDS, s);

/**
 * A decimal integer every YAML library reads as the same number: 0, or 1 to 15 digits without a
 * leading zero (`/^(?:0|[1-9][0-9]{0,14})$/`, by a character scan: this runs for every number of
 * a policy; test/unit/fast-yaml.test.ts holds it to the expression).
 */
export function isDecimal(s: string): boolean {
  const n = s.length;
  if (n > 15 || (n > 1 && s.charCodeAt(0) === 0x30)) return false;
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(i);
    if (d < 0x30 || d > 0x39) return false;
  }
  return n > 0;
}


/** A character that may follow a colon inside a flow scalar (not a space, an indicator or the end). */
const plainSafe = (c: number): boolean => c > SPACE && c !== 0x2c && c !== 0x5b && c !== 0x5d && c !== 0x7b && c !== 0x7d;

function setKey(obj: Record<string, unknown>, key: string, plain: boolean, value: unknown): void {
  // Duplicates are the full parser's to report, with their positions. A plain null or true as a
  // key becomes '' in one library and 'null' in the other.
  if (key === '__proto__' || Object.prototype.hasOwnProperty.call(obj, key) || (plain && isKeyword(key))) giveUp();
  obj[key] = value;
}

class Reader {
  /** The current content line: where it starts, its indentation, its content and its end. */
  private lineStart = 0;
  private indent = -1;
  private content = 0;
  private end = 0;
  /** Where the last inline value read ended (inline readers return only the value: no object per scalar). */
  private next = 0;

  /**
   * With `track`, every node is read as a PosNode (children included) instead of its value,
   * except that a block sequence's entries are only located, and read when asked for (PosItems).
   */
  constructor(
    private readonly text: string,
    private readonly track: boolean,
  ) {}

  private node(value: unknown, at: number): unknown {
    return this.track ? { at, of: value } : value;
  }

  private put(obj: Record<string, unknown>, key: string, plain: boolean, value: unknown, keyAt: number): void {
    setKey(obj, key, plain, this.track ? { key: keyAt, value } : value);
  }

  document(): unknown {
    this.seekContent(0);
    if (this.indent === 0 && this.text.startsWith('---', this.content) && this.restIsEmpty(this.content + 3)) this.seekContent(this.end + 1);
    if (this.indent !== 0) giveUp();
    const value = this.blockAt(0);
    // Anything after the top-level node (a second document, "...") is the full parser's.
    if (!this.atEnd()) giveUp();
    return value;
  }

  private atEnd(): boolean {
    return this.indent === -1;
  }

  /** Moves to the first line at or after `from` that has content other than a comment. */
  private seekContent(from: number): void {
    const t = this.text;
    let pos = from;
    while (pos < t.length) {
      let end = t.indexOf('\n', pos);
      if (end === -1) end = t.length;
      let c = pos;
      while (c < end && t.charCodeAt(c) === SPACE) c++;
      if (c < end && t.charCodeAt(c) !== HASH) {
        this.lineStart = pos;
        this.indent = c - pos;
        this.content = c;
        this.end = end;
        return;
      }
      pos = end + 1;
    }
    this.indent = -1;
    this.content = this.end = t.length;
  }

  /** Only spaces and an optional comment from `pos` to the end of the line. */
  private restIsEmpty(pos: number): boolean {
    const t = this.text;
    let p = pos;
    while (p < this.end && t.charCodeAt(p) === SPACE) p++;
    return p === this.end || (t.charCodeAt(p) === HASH && p > pos);
  }

  private isSeqEntry(): boolean {
    const next = this.content + 1;
    return this.text.charCodeAt(this.content) === DASH && (next === this.end || this.text.charCodeAt(next) === SPACE);
  }

  /** A block node at the current line, as a value or a PosNode. */
  private blockAt(indent: number): unknown {
    const at = this.content;
    return this.node(this.blockNode(indent), at);
  }

  private blockNode(indent: number): unknown {
    if (this.isSeqEntry()) return this.sequence(indent);
    if (this.keyEnd(this.content) !== -1) return this.mapping(indent);
    return giveUp();
  }

  /**
   * Where a block mapping key starting at `pos` ends (at its colon), or -1. Keys are plain words
   * starting with a letter, or quoted; the colon must be followed by a space or the line's end.
   */
  private keyEnd(pos: number): number {
    const t = this.text;
    const c = t.charCodeAt(pos);
    let p = pos;
    if (isQuote(c)) {
      p = t.indexOf(String.fromCharCode(c), pos + 1);
      if (p === -1 || p >= this.end) return -1;
      p++;
    } else {
      if (!isLetter(c)) return -1;
      while (p < this.end && KEY_CHAR[t.charCodeAt(p)] === 1) p++;
    }
    if (t.charCodeAt(p) !== COLON) return -1;
    return p + 1 === this.end || t.charCodeAt(p + 1) === SPACE ? p : -1;
  }

  private key(pos: number, colon: number): string {
    const c = this.text.charCodeAt(pos);
    if (isQuote(c)) return this.quoted(pos);
    return this.text.slice(pos, colon);
  }

  private mapping(indent: number): Record<string, unknown> {
    const obj: Record<string, unknown> = {};
    while (this.indent === indent) {
      const colon = this.keyEnd(this.content);
      if (colon === -1) giveUp();
      const keyAt = this.content;
      const plain = !isQuote(this.text.charCodeAt(keyAt));
      const key = this.key(keyAt, colon);
      this.put(obj, key, plain, this.valueAfter(colon + 1, indent, true), keyAt);
    }
    if (this.indent > indent) giveUp();
    return obj;
  }

  private sequence(indent: number): unknown[] | PosItems {
    if (this.track) return this.itemsToRead(indent);
    const arr: unknown[] = [];
    while (this.indent === indent && this.isSeqEntry()) arr.push(this.entry(indent));
    if (this.indent > indent) giveUp();
    return arr;
  }

  /** The block sequence entry on the current line, up to the next line not indented deeper than its dash. */
  private entry(indent: number): unknown {
    let p = this.content + 1;
    while (p < this.end && this.text.charCodeAt(p) === SPACE) p++;
    if (p < this.end && this.text.charCodeAt(p) !== HASH && this.keyEnd(p) !== -1) {
      // A compact mapping ("- name: x" then "  port: 22"): its keys line up with the first.
      this.indent = p - this.lineStart;
      this.content = p;
      return this.node(this.mapping(this.indent), p);
    }
    return this.valueAfter(this.content + 1, indent, false);
  }

  /**
   * A block sequence in a position reading: only where each entry's line starts, each entry read
   * when asked for. Every line of an entry is indented deeper than its dash (comments and blank
   * lines aside, which seekContent skips), so the next line that is not ends it.
   */
  private itemsToRead(indent: number): PosItems {
    const starts: number[] = [];
    while (this.indent === indent && this.isSeqEntry()) {
      starts.push(this.lineStart);
      do this.seekContent(this.end + 1);
      while (this.indent > indent);
    }
    const text = this.text;
    const end = this.atEnd() ? text.length : this.lineStart;
    const read = (i: number): PosNode => new Reader(text, true).entryOn(starts[i]!, indent);
    return new PosItems(starts.length, read, (i) => (starts[i + 1] ?? end) - starts[i]! > KEEP_ENTRY_CHARS);
  }

  /** The entry whose line starts at `lineStart`, in a text that fastYaml reads (the caller's word). */
  private entryOn(lineStart: number, indent: number): PosNode {
    this.seekContent(lineStart);
    try {
      return this.entry(indent) as PosNode;
    } catch (e) {
      if (e === GIVE_UP) throw new Error(`fastPositions: the entry at offset ${lineStart} is outside fastYaml's subset; positions are only for texts fastYaml reads`);
      throw e;
    }
  }

  /**
   * The value after a key's colon or an entry's dash at `pos`: inline on this line, or a block on
   * the lines below (a mapping's value may be a sequence at the mapping's own indentation).
   */
  private valueAfter(pos: number, indent: number, sameIndentSeq: boolean): unknown {
    const t = this.text;
    let p = pos;
    while (p < this.end && t.charCodeAt(p) === SPACE) p++;
    if (p === this.end || (t.charCodeAt(p) === HASH && p > pos)) {
      // An empty value starts where yaml puts it: after the spaces, at the comment or line end.
      const emptyAt = p;
      this.seekContent(this.end + 1);
      if (this.indent > indent) return this.blockAt(this.indent);
      if (sameIndentSeq && this.indent === indent && this.isSeqEntry()) {
        const at = this.content;
        return this.node(this.sequence(indent), at);
      }
      // An empty sequence entry followed by a less indented one: YAML readers have disagreed on
      // whose entry that is ("-\n -\n- x"); yaml reads it.
      if (!sameIndentSeq) giveUp();
      return this.node(null, emptyAt);
    }
    if (p === pos) giveUp();
    const value = this.node(this.inline(p), p);
    if (!this.restIsEmpty(this.next)) giveUp();
    this.seekContent(this.end + 1);
    return value;
  }

  private inline(pos: number): unknown {
    const c = this.text.charCodeAt(pos);
    if (c === 0x5b || c === 0x7b) return this.flow(pos);
    if (isQuote(c)) return this.quoted(pos);
    // The rest of the line, up to a comment, trimmed: no colon-space (a mapping) inside.
    let stop = pos;
    while (stop < this.end && !(this.text.charCodeAt(stop) === HASH && this.text.charCodeAt(stop - 1) === SPACE)) stop++;
    let last = stop;
    while (last > pos && this.text.charCodeAt(last - 1) === SPACE) last--;
    const s = this.text.slice(pos, last);
    if (s.includes(': ') || s.endsWith(':')) giveUp();
    this.next = last;
    return plainScalar(s);
  }

  /** A one-line quoted scalar: double quotes without escapes, or single quotes with '' for '. */
  private quoted(pos: number): string {
    const t = this.text;
    const q = t.charCodeAt(pos);
    if (q === 0x22) {
      const close = t.indexOf('"', pos + 1);
      if (close === -1 || close >= this.end) giveUp();
      const s = t.slice(pos + 1, close);
      if (s.includes('\\')) giveUp();
      this.next = close + 1;
      return s;
    }
    let out = '';
    let p = pos + 1;
    for (;;) {
      const close = t.indexOf("'", p);
      if (close === -1 || close >= this.end) giveUp();
      out += t.slice(p, close);
      if (t.charCodeAt(close + 1) !== 0x27) {
        this.next = close + 1;
        return out;
      }
      out += "'";
      p = close + 2;
    }
  }

  /** A flow collection that opens and closes on this line. */
  private flow(pos: number): unknown {
    const t = this.text;
    const isMap = t.charCodeAt(pos) === 0x7b;
    const close = isMap ? 0x7d : 0x5d;
    const value: unknown[] | Record<string, unknown> = isMap ? {} : [];
    let p = this.skipSpaces(pos + 1);
    for (let first = true; ; first = false) {
      if (t.charCodeAt(p) === close && first) break;
      if (isMap) {
        const c = t.charCodeAt(p);
        let key: string;
        const keyAt = p;
        if (isQuote(c)) {
          key = this.quoted(p);
          p = this.next;
        } else {
          if (!isLetter(c)) giveUp();
          const start = p;
          while (p < this.end && KEY_CHAR[t.charCodeAt(p)] === 1) p++;
          key = t.slice(start, p);
        }
        if (t.charCodeAt(p) !== COLON || t.charCodeAt(p + 1) !== SPACE) giveUp();
        const at = this.skipSpaces(p + 1);
        this.put(value as Record<string, unknown>, key, !isQuote(c), this.node(this.flowValue(at), at), keyAt);
      } else {
        (value as unknown[]).push(this.node(this.flowValue(p), p));
      }
      p = this.skipSpaces(this.next);
      const c = t.charCodeAt(p);
      if (c === close) break;
      if (c !== 0x2c) giveUp();
      p = this.skipSpaces(p + 1);
      // A trailing comma: the libraries differ on it.
      if (t.charCodeAt(p) === close) giveUp();
    }
    this.next = p + 1;
    if (isMap) return value;
    // Exact length: policies hold tens of thousands of short address lists.
    return this.track ? PosItems.of(value as PosNode[]) : (value as unknown[]).slice();
  }

  private skipSpaces(pos: number): number {
    let p = pos;
    while (p < this.end && this.text.charCodeAt(p) === SPACE) p++;
    if (p >= this.end) giveUp();
    return p;
  }

  private flowValue(pos: number): unknown {
    const t = this.text;
    const c = t.charCodeAt(pos);
    if (c === 0x5b || c === 0x7b) return this.flow(pos);
    if (isQuote(c)) return this.quoted(pos);
    let p = pos;
    for (; p < this.end; p++) {
      const d = t.charCodeAt(p);
      if (d === 0x2c || d === 0x5d || d === 0x7d) break;
      // A colon inside a flow scalar is fine when glued to what follows (2001:db8::1); before a
      // space or an indicator it makes a mapping. Comments and nested openers: the full parser's.
      if (d === COLON && !plainSafe(t.charCodeAt(p + 1))) giveUp();
      if (d === HASH || d === 0x5b || d === 0x7b) giveUp();
    }
    let last = p;
    while (last > pos && t.charCodeAt(last - 1) === SPACE) last--;
    if (last === pos) giveUp();
    this.next = p;
    return plainScalar(t.slice(pos, last));
  }
}
