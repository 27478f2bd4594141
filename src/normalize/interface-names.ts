import type { Path, PathSegment } from '../model/path.js';
import type { Policy } from '../model/policy.js';
import { didYouMean } from '../util/suggest.js';
import { under, type Reporter } from './report.js';

/** Kernel interface names: at most 15 bytes; iptables adds a trailing + for prefix matches. */
const IFACE = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,14}$|^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,13}\+$/;

const LOOPBACK = 'lo';

/** The policy's interface names: kernel names, and the aliases of its `interfaces` map. */
export class InterfaceNames {
  /** Aliases already reported as invalid: reported once, however many rules use them. */
  private readonly bad = new Set<string>();

  constructor(
    private readonly policy: Policy,
    private readonly reporter: Reporter,
  ) {}

  /** The kernel name; null for none, undefined after a diagnostic. `implied`: a default the author did not write, so an undeclared name is no typo. */
  read(name: string | undefined, path: Path, implied = false, field?: PathSegment): string | null | undefined {
    if (name === undefined) return null;
    const aliases = this.policy.interfaces ?? {};
    const isAlias = Object.prototype.hasOwnProperty.call(aliases, name);
    const real = isAlias ? aliases[name]! : name;
    const realPath = isAlias ? ['interfaces', name] : under(path, field);
    if (!IFACE.test(real)) {
      if (isAlias && this.bad.has(name)) return undefined;
      if (isAlias) this.bad.add(name);
      this.reporter.report('schema-value', realPath, `'${real}' is not a valid interface name: at most 15 characters of letters, digits, '_', '.', '@', '-', optionally ending in '+' for a prefix match`);
      return undefined;
    }
    // Loopback exists on every host and is nobody's alias: naming it is no typo.
    if (!implied && !isAlias && real !== LOOPBACK && Object.keys(aliases).length > 0 && !Object.values(aliases).includes(real)) {
      const guess = didYouMean(name, Object.keys(aliases));
      this.reporter.report('interface-unknown', under(path, field), `interface '${name}' is not declared under \`interfaces\`${guess ? ` (did you mean '${guess}'?)` : ''}; it is used as a kernel interface name as written`);
    }
    return real;
  }

  /** Reads every alias, so a mistake in one nobody uses yet is still reported. */
  resolveAll(): void {
    for (const alias of Object.keys(this.policy.interfaces ?? {})) this.read(alias, ['interfaces', alias]);
  }
}
