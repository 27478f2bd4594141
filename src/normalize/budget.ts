import type { Path } from '../model/path.js';
import type { Reporter } from './report.js';

/**
 * What one policy may expand to. A few lines can stand for millions: a rule's sources times its
 * destinations, protocols and port groups; an address set of sets of sets; one long list named in
 * every rule. Without a bound such a policy takes minutes and gigabytes and writes files no
 * kernel should walk; with one it is refused in a moment, at the place that went over.
 *
 * The limits are far above any policy an operator writes: the benchmark's 50,000-entry operator
 * policy (every section mixed, both families) expands to 183,000 rules and 150,000 address
 * entries, and its largest shapes stay under a fifth of each limit. A chain of a million rules is
 * walked rule by rule by every packet that reaches its end; past that, an ipset is the tool.
 */
export const LIMITS = {
  /** Rules of both families, each combination of source, destination, protocol and port group counted once. */
  rules: 1_000_000,
  /** Entries of the distinct ipsets of both families (a list used by many rules is one set). */
  setEntries: 1_000_000,
  /** Addresses read through address lists and set names, before merging (a set's entries each time it is named inside another list). */
  addressEntries: 10_000_000,
} as const;

/**
 * Bytes of the files loaded on the host (rules.v4, rules.v6, ipsets), measured on the rendered
 * rules (src/emit/output-size.ts). The rule and entry limits bound how many lines there are, not
 * how long: a million rules with 240-byte names is a quarter of a gigabyte every apply reads.
 * The benchmark's 50,000-entry operator policy writes 22 MB; 256 MiB is over ten times that.
 */
export const OUTPUT_BYTES_LIMIT = 256 * 1024 * 1024;

export type Limit = keyof typeof LIMITS;

const WHAT: Readonly<Record<Limit, { readonly noun: string; readonly fix: string }>> = {
  rules: {
    noun: 'rules (both families; each source, destination, protocol and group of 15 ports of a rule is one rule)',
    fix: 'match long address lists as an ipset (keep `defaults.set-threshold` low, or leave it at its default of 32), put ports in fewer ranges, or split the policy across hosts',
  },
  setEntries: {
    noun: 'address set entries (both families, each distinct list once)',
    fix: 'use one list for the rules that share it (identical lists are one set), merge adjacent networks into wider CIDRs, or shorten the list',
  },
  addressEntries: {
    noun: 'addresses read through address lists and set names',
    fix: 'name a long list once under `addresses:` and use that name alone in each rule (a named set is read once), instead of listing sets of sets inside other lists',
  },
};

/** Where the rules of one selector are charged: its rule's path. */
export interface Charge {
  /** Whether `n` more of the budget's unit fit; false (after one diagnostic for the whole run) if not. */
  readonly charge: (n: number) => boolean;
}

/** One normalize run's counts against LIMITS; the first charge over a limit is reported, at its path, once. */
export class Budget {
  private readonly used: Record<Limit, number> = { rules: 0, setEntries: 0, addressEntries: 0 };
  private over = false;

  constructor(
    private readonly reporter: Reporter,
    private readonly limits: Readonly<Record<Limit, number>> = LIMITS,
  ) {}

  /** Whether `n` more of `limit` fit; when not, reports at `path` (once per run) and returns false. */
  take(limit: Limit, n: number, path: Path): boolean {
    if (this.over) return false;
    const next = this.used[limit] + n;
    if (next <= this.limits[limit]) {
      this.used[limit] = next;
      return true;
    }
    this.over = true;
    const { noun, fix } = WHAT[limit];
    this.reporter.report(
      'expansion-limit',
      path,
      `this expands the policy past ${this.limits[limit].toLocaleString('en')} ${noun}: here it would reach ${next.toLocaleString('en')}; ${fix}`,
    );
    return false;
  }

  /** A charge for rules at one path, for a selector to carry into its expansion. */
  rulesAt(path: Path): Charge {
    return { charge: (n) => this.take('rules', n, path) };
  }

  /** Whether a limit was passed: the run's later expansions are then empty. */
  get exceeded(): boolean {
    return this.over;
  }
}
