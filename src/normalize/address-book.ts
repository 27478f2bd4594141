import type { Path, PathSegment } from '../model/path.js';
import type { Addrs, Policy } from '../model/policy.js';
import { familyRecord } from '../model/family.js';
import { mergeCidrs, readAddress, type Cidr } from '../packet/addresses.js';
import { didYouMean } from '../util/suggest.js';
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
  ) {}

  /** The CIDRs an address list stands for, merged; null for no list, undefined after a diagnostic. */
  read(spec: Addrs | undefined, path: Path, field?: PathSegment): readonly Cidr[] | null | undefined {
    if (spec === undefined) return null;
    const items = typeof spec === 'string' ? [spec] : spec;
    // Sized for one CIDR per item (a set's name stands for more): the merged list is often this
    // array itself, which the IR keeps for every rule.
    const out = new Array<Cidr>(items.length);
    let k = 0;
    let ok = true;
    for (let i = 0; i < items.length; i++) {
      const next = this.item(items[i]!, typeof spec === 'string' ? null : i, path, field, out, k);
      if (next < 0) ok = false;
      else k = next;
    }
    if (!ok) return undefined;
    if (k !== out.length) out.length = k;
    return mergeCidrs(out);
  }

  /** Resolves every declared set, so a mistake in one nobody uses yet is still reported. */
  resolveAll(): void {
    for (const name of Object.keys(this.policy.addresses ?? {})) this.resolveSet(name, ['addresses', name]);
  }

  /** Writes the CIDRs `item` stands for into `out` from `k`: the next index, or -1 after a diagnostic. */
  private item(item: string, index: number | null, parent: Path, field: PathSegment | undefined, out: Cidr[], k: number): number {
    const sets = this.policy.addresses;
    if (sets !== undefined && Object.prototype.hasOwnProperty.call(sets, item)) {
      const set = this.resolveSet(item, itemPath(parent, field, index));
      if (set === null) return -1;
      for (const c of set) out[k++] = c;
      return k;
    }
    const cidr = readAddress(item);
    if (typeof cidr !== 'string') {
      if (cidr.hostBits) {
        this.reporter.report('cidr-host-bits', itemPath(parent, field, index), `'${item}' has host bits set; iptables would silently use ${cidr.text}; write that, or a /${familyRecord(cidr.family).bits} for the single host`);
      }
      out[k] = cidr;
      return k + 1;
    }
    const looksLikeName = /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(item) && !item.includes('.');
    if (looksLikeName) {
      const guess = didYouMean(item, Object.keys(sets ?? {}));
      this.reporter.report('unknown-name', itemPath(parent, field, index), `'${item}' is neither an address nor a set under \`addresses\`${guess ? ` (did you mean '${guess}'?)` : '; declare it under `addresses`'}`);
    } else {
      this.reporter.report('address-invalid', itemPath(parent, field, index), cidr);
    }
    return -1;
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
