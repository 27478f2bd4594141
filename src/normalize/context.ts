import type { Code } from '../diagnostics/codes.js';
import { diag, type Diagnostic, type Location, type Related } from '../diagnostics/diagnostic.js';
import { familyRecord } from '../model/family.js';
import { lazyOrigin, type Family, type L4, type Origin, type PortRange, type Proto } from '../model/ir.js';
import type { Path, PathSegment, SourceMap } from '../load/source.js';
import type { Addrs, Policy, Ports } from '../model/policy.js';
import { didYouMean } from '../util/suggest.js';
import { describe } from '../model/path.js';
import { mergeCidrs, readAddress, type Cidr } from '../packet/addresses.js';
import { normalizePorts, readPort } from '../packet/ports.js';

const L4_PROTOS: readonly string[] = ['tcp', 'udp', 'sctp'];
/** Ports without a protocol: shared, since the IR never changes it. */
const TCP_ONLY: readonly Proto[] = ['tcp'];
const CONTROL = /[\u0000-\u001f\u007f]/;
export const COMMENT_MAX_BYTES = 255;
export const LOG_PREFIX_MAX_BYTES = 29;
/** Kernel interface names: at most 15 bytes; iptables adds a trailing + for prefix matches. */
const IFACE = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,14}$|^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,13}\+$/;

/** Shared state of one normalize run: the policy, its resolved names, and collected diagnostics. */
export class Context {
  readonly diagnostics: Diagnostic[] = [];
  private readonly setCache = new Map<string, readonly Cidr[] | null>();
  private readonly resolving = new Set<string>();
  private readonly badAliases = new Set<string>();
  private readonly reportedOnce = new Set<string>();

  constructor(
    readonly policy: Policy,
    readonly source: SourceMap,
  ) {}

  /** The policy's value at `path`, or undefined. */
  valueAt(path: Path): unknown {
    let node: unknown = this.policy;
    for (const seg of path) node = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[seg] : undefined;
    return node;
  }

  loc(path: Path, which: 'value' | 'key' = 'value'): Location {
    return this.source.at(path, which);
  }

  report(code: Code, path: Path, message: string, related?: readonly Related[]): void {
    this.diagnostics.push(diag(code, this.loc(path), message, related, path));
  }

  /** `report`, once per run for `key`: for a value many rules share (`logging`'s rate, say). */
  reportOnce(key: string, code: Code, path: Path, message: string): void {
    if (this.reportedOnce.has(key)) return;
    this.reportedOnce.add(key);
    this.report(code, path, message);
  }

  related(path: Path, message: string): Related {
    return { ...this.loc(path), message };
  }

  /** The comment a rule carries: its name, or its YAML path when unnamed, plus a role. */
  origin(path: Path, name: string | undefined, role?: string): Origin {
    const base = name ?? describe(path).slice(1, -1);
    const label = role ? `${base} (${role})` : base;
    return lazyOrigin(path, label, this.source);
  }

  /**
   * Free text that reaches the restore file: no control characters, within iptables' byte limits.
   * `field`, here and below: the key under `path` that holds the value, which is appended only
   * for a diagnostic (most values of a policy are fine, and each path built costs an array).
   */
  text(value: string, path: Path, what: string, maxBytes: number, field?: PathSegment): boolean {
    if (CONTROL.test(value)) {
      this.report('unsafe-string', under(path, field), `${what} contains a control character (newline, tab, ...), which could inject rules into the restore file; remove it`);
      return false;
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit: most texts are surely short enough uncounted.
    const bytes = value.length * 3 <= maxBytes ? 0 : Buffer.byteLength(value, 'utf8');
    if (bytes > maxBytes) {
      this.report('string-too-long', under(path, field), `${what} is ${bytes} bytes; iptables keeps only ${maxBytes} and would silently cut the rest; shorten it`);
      return false;
    }
    return true;
  }

  addrs(spec: Addrs | undefined, path: Path, field?: PathSegment): readonly Cidr[] | null | undefined {
    if (spec === undefined) return null;
    const n = typeof spec === 'string' ? 1 : spec.length;
    // Sized for one CIDR per item (a set name's CIDRs go beyond): an empty array's first push
    // reserves 17 slots, and this runs for every address list of a policy.
    const out = new Array<Cidr>(n);
    let k = 0;
    let ok = true;
    for (let i = 0; i < n; i++) {
      const next = typeof spec === 'string' ? this.addrItem(spec, path, field, null, out, k) : this.addrItem(spec[i]!, path, field, i, out, k);
      if (next < 0) ok = false;
      else k = next;
    }
    if (!ok) return undefined;
    if (k !== n) out.length = k;
    return mergeCidrs(out);
  }

  /** Writes the CIDRs `item` stands for into `out` from index `k`: the next index, or -1 (and a diagnostic) when it is wrong. */
  private addrItem(item: string, parent: Path, field: PathSegment | undefined, index: number | null, out: Cidr[], k: number): number {
    // The item's path is built only for a diagnostic, and by a function outside: a closure here
    // would allocate a context for every address of a policy.
    const sets = this.policy.addresses;
    if (sets !== undefined && Object.prototype.hasOwnProperty.call(sets, item)) {
      const set = this.resolveSet(item, itemPath(parent, field, index));
      if (set === null) return -1;
      for (let i = 0; i < set.length; i++) out[k++] = set[i]!;
      return k;
    }
    const cidr = readAddress(item);
    if (typeof cidr !== 'string') {
      if (cidr.hostBits) {
        this.report('cidr-host-bits', itemPath(parent, field, index), `'${item}' has host bits set; iptables would silently use ${cidr.text}; write that, or a /${familyRecord(cidr.family).bits} for the single host`);
      }
      out[k] = cidr;
      return k + 1;
    }
    const looksLikeName = /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(item) && !item.includes('.');
    if (looksLikeName) {
      const guess = didYouMean(item, Object.keys(sets ?? {}));
      this.report('unknown-name', itemPath(parent, field, index), `'${item}' is neither an address nor a set under \`addresses\`${guess ? ` (did you mean '${guess}'?)` : '; declare it under `addresses`'}`);
    } else {
      this.report('address-invalid', itemPath(parent, field, index), cidr);
    }
    return -1;
  }

  private resolveSet(name: string, usedAt: Path): readonly Cidr[] | null {
    const cached = this.setCache.get(name);
    if (cached !== undefined) return cached;
    if (this.resolving.has(name)) {
      this.report('address-set-cycle', ['addresses', name], `address set '${name}' includes itself (through ${[...this.resolving].join(' -> ')}); remove the loop`, [this.related(usedAt, 'used here')]);
      return null;
    }
    this.resolving.add(name);
    const spec = this.policy.addresses![name]!;
    const got = this.addrs(spec, ['addresses', name]);
    this.resolving.delete(name);
    const value = got ?? null;
    this.setCache.set(name, value);
    return value;
  }

  /** Resolves every declared set and alias, so a mistake in one nobody uses yet is still reported. */
  resolveAllNames(): void {
    for (const name of Object.keys(this.policy.addresses ?? {})) this.resolveSet(name, ['addresses', name]);
    for (const alias of Object.keys(this.policy.interfaces ?? {})) this.iface(alias, ['interfaces', alias]);
  }

  /** `implied`: a default the author did not write, so an undeclared name is no typo. */
  iface(name: string | undefined, path: Path, implied = false, field?: PathSegment): string | null | undefined {
    if (name === undefined) return null;
    const aliases = this.policy.interfaces ?? {};
    const isAlias = Object.prototype.hasOwnProperty.call(aliases, name);
    const real = isAlias ? aliases[name]! : name;
    const realPath = isAlias ? ['interfaces', name] : under(path, field);
    if (!IFACE.test(real)) {
      if (isAlias && this.badAliases.has(name)) return undefined;
      if (isAlias) this.badAliases.add(name);
      this.report('schema-value', realPath, `'${real}' is not a valid interface name: at most 15 characters of letters, digits, '_', '.', '@', '-', optionally ending in '+' for a prefix match`);
      return undefined;
    }
    if (!implied && !isAlias && Object.keys(aliases).length > 0 && !Object.values(aliases).includes(real)) {
      const guess = didYouMean(name, Object.keys(aliases));
      this.report('interface-unknown', under(path, field), `interface '${name}' is not declared under \`interfaces\`${guess ? ` (did you mean '${guess}'?)` : ''}; it is used as a kernel interface name as written`);
    }
    return real;
  }

  /** Protocols of a rule; `null` means any protocol. Ports without a protocol mean tcp. */
  protos(spec: string | readonly string[] | undefined, hasPorts: boolean, path: Path, field?: PathSegment): readonly Proto[] | null | undefined {
    if (spec === undefined) return hasPorts ? TCP_ONLY : null;
    const list = typeof spec === 'string' ? [spec] : spec;
    if (list.includes('all')) {
      if (hasPorts) {
        this.report('port-needs-proto', under(path, field), 'ports need a protocol that has ports: write proto: tcp, udp or sctp (or a list of them)');
        return undefined;
      }
      return null;
    }
    if (hasPorts && list.some((p) => !L4_PROTOS.includes(p))) {
      this.report('port-needs-proto', under(path, field), `ports need tcp, udp or sctp, but proto includes ${list.filter((p) => !L4_PROTOS.includes(p)).join(', ')}; put those in a separate rule`);
      return undefined;
    }
    return list as readonly Proto[];
  }

  ports(spec: Ports | undefined, path: Path, field?: PathSegment): readonly PortRange[] | null | undefined {
    if (spec === undefined) return null;
    // One port, the common case: no lists to sort and join.
    if (!Array.isArray(spec)) {
      const got = readPort(spec as number | string);
      if (typeof got !== 'string') return [got];
    }
    const items = Array.isArray(spec) ? spec : [spec as number | string];
    const out: PortRange[] = [];
    let ok = true;
    // A loop, not forEach: its closure would allocate a context on every call, one-port fast path included.
    for (let i = 0; i < items.length; i++) {
      const got = readPort(items[i]!);
      if (typeof got !== 'string') out.push(got);
      else {
        this.report('port-invalid', Array.isArray(spec) ? [...under(path, field), i] : under(path, field), got);
        ok = false;
      }
    }
    return ok ? normalizePorts(out) : undefined;
  }
}

/** `path` with `field` appended, if there is one. */
export const under = (path: Path, field: PathSegment | undefined): Path => (field === undefined ? path : [...path, field]);

/** An address list item's path: the list's, or the list's with the item's index. */
const itemPath = (parent: Path, field: PathSegment | undefined, index: number | null): Path =>
  index === null ? under(parent, field) : field === undefined ? [...parent, index] : [...parent, field, index];

export function isL4(p: Proto): p is L4 {
  return L4_PROTOS.includes(p);
}

export { NO_CIDRS, ofFamily } from '../packet/addresses.js';
