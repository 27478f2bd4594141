import type { Code } from '../diagnostics/codes.js';
import { diag, type Diagnostic, type Location, type Related } from '../diagnostics/diagnostic.js';
import { lazyOrigin, type Origin, type PortRange, type Proto } from '../model/ir.js';
import type { SourceMap } from '../load/source-map.js';
import { describe, valueAt, type Path, type PathSegment } from '../model/path.js';
import type { Addrs, Policy, Ports, ServiceRef } from '../model/policy.js';
import type { Cidr } from '../values/addresses.js';
import { AddressBook } from './address-book.js';
import { Budget } from './budget.js';
import { InterfaceNames } from './interface-names.js';
import { readPorts, readProtos } from './protocols.js';
import { ServiceBook, type PortGroup } from './services.js';
import { under, type Reporter } from './report.js';

/**
 * Characters free text may not hold: C0 and C1 controls (a newline would start a rule), the line
 * separators, and format characters (bidi controls, zero-width ones), which make a rule's comment
 * read as something else where `iptables -S` shows it on the host.
 */
const CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
export const COMMENT_MAX_BYTES = 255;
export const LOG_PREFIX_MAX_BYTES = 29;
/** xt_NFLOG keeps 64 bytes with the terminating NUL. */
export const NFLOG_PREFIX_MAX_BYTES = 63;

/**
 * One normalize run: the policy, where its diagnostics go, and the readers of its values
 * (addresses, interfaces, protocols and ports), each in a file of its own.
 */
export class Context implements Reporter {
  readonly diagnostics: Diagnostic[] = [];
  private readonly reportedOnce = new Set<string>();
  private readonly addressBook: AddressBook;
  private readonly interfaces: InterfaceNames;
  private readonly serviceBook: ServiceBook;
  /** What the policy may expand to (rules, set entries, addresses read), counted as it expands. */
  readonly budget: Budget = new Budget(this);

  constructor(
    readonly policy: Policy,
    readonly source: SourceMap,
  ) {
    this.addressBook = new AddressBook(policy, this, this.budget);
    this.interfaces = new InterfaceNames(policy, this);
    this.serviceBook = new ServiceBook(policy, this);
  }

  /** The policy's value at `path`, or undefined. */
  valueAt(path: Path): unknown {
    return valueAt(this.policy, path);
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
   * `field`, here and below: the key under `path` that holds the value, appended only for a
   * diagnostic.
   */
  text(value: string, path: Path, what: string, maxBytes: number, field?: PathSegment): boolean {
    if (CONTROL.test(value)) {
      this.report('unsafe-string', under(path, field), `${what} contains a control or format character (newline, tab, a bidi control, a zero-width character, ...), which could inject rules into the restore file or make it read as something else; remove it`);
      return false;
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > maxBytes) {
      this.report('string-too-long', under(path, field), `${what} is ${bytes} bytes; iptables keeps only ${maxBytes} and would silently cut the rest; shorten it`);
      return false;
    }
    return true;
  }

  /** A rule's name, which every rule compiled from it carries as its iptables comment. */
  ruleName(label: string, path: Path, field?: PathSegment): boolean {
    return this.text(label, path, 'the rule name (used as its iptables comment)', COMMENT_MAX_BYTES, field);
  }

  addrs(spec: Addrs | undefined, path: Path, field?: PathSegment): readonly Cidr[] | null | undefined {
    return this.addressBook.read(spec, path, field);
  }

  iface(name: string | undefined, path: Path, implied = false, field?: PathSegment): string | null | undefined {
    return this.interfaces.read(name, path, implied, field);
  }

  protos(spec: string | readonly string[] | undefined, hasPorts: boolean, path: Path, field?: PathSegment): readonly Proto[] | null | undefined {
    return readProtos(this, spec, hasPorts, path, field);
  }

  ports(spec: Ports | undefined, path: Path, field?: PathSegment): readonly PortRange[] | null | undefined {
    return readPorts(this, spec, path, field);
  }

  /**
   * A rule's protocol and port groups: one group of its own `proto` and `port`, or its
   * `service`'s (which excludes both); undefined after a diagnostic.
   */
  portGroups(rule: { readonly proto?: string | readonly string[]; readonly port?: Ports; readonly service?: ServiceRef }, path: Path): readonly { readonly protos: readonly Proto[] | null; readonly ports: readonly PortRange[] | null }[] | undefined {
    if (rule.service === undefined) {
      const ports = this.ports(rule.port, path, 'port');
      const protos = this.protos(rule.proto, rule.port !== undefined, path, 'proto');
      return ports === undefined || protos === undefined ? undefined : [{ protos, ports }];
    }
    const both = rule.port !== undefined ? 'port' : rule.proto !== undefined ? 'proto' : undefined;
    if (both !== undefined) {
      this.report('service-invalid', [...path, both], `\`service\` names its protocols and ports; remove \`${both}\`, or write proto and port without \`service\``);
      return undefined;
    }
    return this.serviceBook.read(rule.service, path, 'service') satisfies readonly PortGroup[] | undefined;
  }

  /** Resolves every declared set and alias, so a mistake in one nobody uses yet is still reported. */
  resolveAllNames(): void {
    this.addressBook.resolveAll();
    this.interfaces.resolveAll();
  }
}
