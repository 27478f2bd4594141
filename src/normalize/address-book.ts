import type { Path, PathSegment } from '../model/path.js';
import type { Addrs, Policy } from '../model/policy.js';
import { familyRecord } from '../model/family.js';
import { mergeCidrs, readAddress, type Cidr } from '../values/addresses.js';
import { didYouMean } from '../util/suggest.js';
import type { Budget } from './budget.js';
import { under, type Reporter } from './report.js';

/**
 * The policy's addresses: literal addresses and CIDRs, and the names of its `addresses` sets,
 * each set resolved once (a set that includes itself is an error, however deep the loop).
 */
export class AddressBook {
  private readonly cache = new Map<string, readonly Cidr[] | null>();
  private readonly resolving = new Set<string>();

  constructor(
    private readonly policy: Policy,
    private readonly reporter: Reporter,
    private readonly budget: Budget,
  ) {}

  /** The CIDRs an address list stands for, merged; null for no list, undefined after a diagnostic. */
  read(spec: Addrs | undefined, path: Path, field?: PathSegment): readonly Cidr[] | null | undefined {
    if (spec === undefined) return null;
    const items = typeof spec === 'string' ? [spec] : spec;
    // A list that is one set's name is that set, read once for every rule that names it: the
    // same array each time (already merged), which also finds the ipset made of it for another rule.
    if (items.length === 1 && this.isSet(items[0]!)) return this.resolveSet(items[0]!, itemPath(path, field, typeof spec === 'string' ? null : 0)) ?? undefined;
    // What each item stands for first, counted before anything is copied; then one array of
    // exactly their size (for a list of addresses, one CIDR per item: the merged list is often
    // this array itself, which the IR keeps for every rule).
    const parts = new Array<Cidr | readonly Cidr[]>(items.length);
    let n = 0;
    let ok = true;
    for (let i = 0; i < items.length; i++) {
      const part = this.item(items[i]!, typeof spec === 'string' ? null : i, path, field);
      if (part === undefined) ok = false;
      else {
        parts[i] = part;
        n += Array.isArray(part) ? part.length : 1;
      }
    }
    if (!ok) return undefined;
    const out = new Array<Cidr>(n);
    let k = 0;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (!Array.isArray(part)) out[k++] = part as Cidr;
      else for (let j = 0; j < part.length; j++) out[k++] = part[j]!;
    }
    return mergeCidrs(out);
  }

  /** Resolves every declared set, so a mistake in one nobody uses yet is still reported. */
  resolveAll(): void {
    for (const name of Object.keys(this.policy.addresses ?? {})) this.resolveSet(name, ['addresses', name]);
  }

  /** The CIDR or the set's CIDRs `item` stands for, or undefined after a diagnostic. */
  private item(item: string, index: number | null, parent: Path, field: PathSegment | undefined): Cidr | readonly Cidr[] | undefined {
    const sets = this.policy.addresses;
    if (this.isSet(item)) {
      const set = this.resolveSet(item, itemPath(parent, field, index));
      if (set === null) return undefined;
      // A set named in a list is copied into it: sets of sets of sets multiply, so they are counted.
      return this.budget.take('addressEntries', set.length, itemPath(parent, field, index)) ? set : undefined;
    }
    if (!this.budget.take('addressEntries', 1, itemPath(parent, field, index))) return undefined;
    const cidr = readAddress(item);
    if (typeof cidr !== 'string') {
      if (cidr.hostBits) {
        this.reporter.report('cidr-host-bits', itemPath(parent, field, index), `'${item}' has host bits set; iptables would silently use ${cidr.text}; write that, or a /${familyRecord(cidr.family).bits} for the single host`);
      }
      return cidr;
    }
    const looksLikeName = /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(item) && !item.includes('.');
    if (looksLikeName) {
      const guess = didYouMean(item, Object.keys(sets ?? {}));
      this.reporter.report('unknown-name', itemPath(parent, field, index), `'${item}' is neither an address nor a set under \`addresses\`${guess ? ` (did you mean '${guess}'?)` : '; declare it under `addresses`'}`);
    } else {
      this.reporter.report('address-invalid', itemPath(parent, field, index), cidr);
    }
    return undefined;
  }

  private isSet(item: string): boolean {
    const sets = this.policy.addresses;
    return sets !== undefined && Object.prototype.hasOwnProperty.call(sets, item);
  }

  private resolveSet(name: string, usedAt: Path): readonly Cidr[] | null {
    const cached = this.cache.get(name);
    if (cached !== undefined) return cached;
    if (this.resolving.has(name)) {
      this.reporter.report('address-set-cycle', ['addresses', name], `address set '${name}' includes itself (through ${[...this.resolving].join(' -> ')}); remove the loop`, [this.reporter.related(usedAt, 'used here')]);
      return null;
    }
    this.resolving.add(name);
    const got = this.read(this.policy.addresses![name]!, ['addresses', name]);
    this.resolving.delete(name);
    const value = got ?? null;
    this.cache.set(name, value);
    return value;
  }
}

/** An address list item's path: the list's, or the list's with the item's index. */
const itemPath = (parent: Path, field: PathSegment | undefined, index: number | null): Path =>
  index === null ? under(parent, field) : field === undefined ? [...parent, index] : [...parent, field, index];
