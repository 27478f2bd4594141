import type { Location } from '../diagnostics/diagnostic.js';
import type { Path } from './path.js';

export type Family = 'ipv4' | 'ipv6';
export type TableName = 'filter' | 'nat' | 'mangle' | 'raw';
export type L4 = 'tcp' | 'udp' | 'sctp';
export type Proto = L4 | 'icmp';
export type CtState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED' | 'DNAT';

/**
 * Where a rule came from, for diagnostics and for the rule's comment: a construct of the policy
 * (its path, located in the policy's file), or a line of a ruleset file read off a host (no path;
 * see rulesetOrigin).
 */
export interface Origin {
  readonly path: Path;
  readonly loc: Location;
  /**
   * The text of the rule's `-m comment`: the policy rule's name or YAML path, plus a role suffix.
   * Empty for a hook jump (`-A INPUT -j IPFENCE-INPUT`), which carries no comment so that it reads
   * the same whether the file or apply.sh added it.
   */
  readonly label: string;
}

/** An inclusive port range; a single port has lo === hi. */
export interface PortRange {
  readonly lo: number;
  readonly hi: number;
}

export type Match =
  | { readonly kind: 'src'; readonly cidr: string; readonly negate?: boolean }
  | { readonly kind: 'dst'; readonly cidr: string; readonly negate?: boolean }
  | { readonly kind: 'iprange'; readonly dir: 'src' | 'dst'; readonly from: string; readonly to: string; readonly negate: boolean }
  | { readonly kind: 'ctdir'; readonly dir: 'ORIGINAL' | 'REPLY' }
  | { readonly kind: 'ctorigdst'; readonly cidr: string }
  | { readonly kind: 'set'; readonly name: string; readonly dir: 'src' | 'dst' }
  | { readonly kind: 'in'; readonly iface: string }
  | { readonly kind: 'out'; readonly iface: string }
  | { readonly kind: 'proto'; readonly proto: Proto }
  | { readonly kind: 'dports'; readonly proto: L4; readonly ports: readonly PortRange[] }
  /** Source ports: the replies of a service (raw's notrack of what it answers). */
  | { readonly kind: 'sports'; readonly proto: L4; readonly ports: readonly PortRange[] }
  | { readonly kind: 'icmp-type'; readonly name: string }
  | { readonly kind: 'hop-limit'; readonly eq: number }
  | { readonly kind: 'ctstate'; readonly states: readonly CtState[]; readonly negate: boolean }
  | { readonly kind: 'ctorigdstport'; readonly ports: PortRange }
  | { readonly kind: 'owner'; readonly by: 'uid' | 'gid'; readonly id: string }
  | { readonly kind: 'limit'; readonly rate: string; readonly burst: number }
  | { readonly kind: 'hashlimit'; readonly above: string; readonly burst: number; readonly perSource: boolean; readonly name: string }
  /**
   * A match the model does not know (`-m string`, `-m recent`, from a ruleset read off a host):
   * kept as its module and arguments and written back with the same meaning. The model never
   * takes its rule as deciding: the walk passes it by as it does a rate limit's, so an answer
   * past it is the answer were it not to match; saying that the answer depends on it is the
   * ruleset reader's part (issue 36). No policy compiles to one.
   */
  | { readonly kind: 'opaque'; readonly module: string; readonly args: readonly string[] };

export type RejectWith = 'tcp-reset' | 'port-unreachable';

/** What a rule or a chain's policy finally does with a packet: the three targets that end its path. */
export type Fate = Extract<Target['kind'], 'accept' | 'drop' | 'reject'>;

export type Target =
  | { readonly kind: 'accept' }
  | { readonly kind: 'drop' }
  | { readonly kind: 'reject'; readonly with: RejectWith }
  | { readonly kind: 'return' }
  /** `hook`: the jump from a built-in chain into ipfence's chain for it, which decides nothing itself. */
  | { readonly kind: 'jump'; readonly chain: string; readonly hook?: true }
  /** LOG to the kernel log, or with `nflog` NFLOG to that netlink group (ulogd, a SIEM pipeline). */
  | { readonly kind: 'log'; readonly prefix: string; readonly nflog?: number }
  | { readonly kind: 'redirect'; readonly toPort: number }
  /** DNAT to another host (an address without prefix), optionally to another port. */
  | { readonly kind: 'dnat'; readonly to: string; readonly toPort?: number }
  | { readonly kind: 'snat'; readonly to: string }
  | { readonly kind: 'masquerade' }
  /** raw's CT target: no connection tracking for these packets, or a conntrack helper (ftp). */
  | { readonly kind: 'notrack' }
  | { readonly kind: 'helper'; readonly helper: string }
  | { readonly kind: 'mark'; readonly mark: number };

export interface Rule {
  readonly kind: 'rule';
  readonly matches: readonly Match[];
  readonly target: Target;
  readonly origin: Origin;
  /**
   * A rule that decides only what the rules before it leave open: a redirect's accept, which the
   * rules of its target port go before. Those rules deciding all of its packets is the design.
   */
  readonly fallback?: true;
}

/** A built-in chain's policy as iptables writes it (the policy file's `accept`/`drop`/`reject` is policy.ts's ChainPolicy). */
export type BuiltinPolicy = 'ACCEPT' | 'DROP';

export interface Chain {
  readonly kind: 'chain';
  readonly name: string;
  /** Built-in chains have a policy; user chains have none ('-' in the file). */
  readonly policy: BuiltinPolicy | null;
  readonly rules: readonly Rule[];
  /**
   * Chains outside the file that will jump here (coexist mode: apply.sh hooks IPFENCE-INPUT into
   * INPUT, IPFENCE-DOCKER into DOCKER-USER). Checks use it to know which hook a rule runs in.
   */
  readonly hookedFrom?: readonly string[];
  /**
   * Where apply.sh keeps that jump: `start` (the default) after the jumps that must run first
   * (fail2ban's bans, Docker's DOCKER-USER), `end` as the chain's last rule, after every other
   * tool's rules (a default verdict: it must not refuse what Docker or others accept).
   */
  readonly hookedAt?: 'start' | 'end';
}

export type Ownership = 'full' | 'coexist';

export interface Table {
  readonly kind: 'table';
  readonly name: TableName;
  readonly chains: readonly Chain[];
}

export interface Ruleset {
  readonly kind: 'ruleset';
  readonly family: Family;
  readonly tables: readonly Table[];
}

/** `ip rule` / `ip route` lines for policy routing, which a restore file cannot carry. */
export interface RouteEntry {
  readonly kind: 'route';
  readonly family: Family;
  readonly mark: number;
  readonly table: number;
  /** The route's destination as `ip route` prints it; absent for the table's default route. */
  readonly to?: string;
  readonly via?: string;
  readonly dev?: string;
  readonly origin: Origin;
}

/** An ipset (hash:net) holding a long address list; rules match it with -m set. */
export interface AddressSet {
  readonly kind: 'set';
  readonly name: string;
  readonly family: Family;
  readonly entries: readonly string[];
  readonly origin: Origin;
}

/** Which way a connection goes: to this host, from it, or through it. */
export type Direction = 'in' | 'out' | 'forward';
export type Expectation = 'allow' | 'deny' | 'drop' | 'reject';

/** An intent test (`tests:`): new connections along a path, and the verdict every one must get. */
export interface IntentTest {
  readonly kind: 'test';
  readonly direction: Direction;
  readonly expect: Expectation;
  /** Per family, the connections as match lists (their union), in the rules' own vocabulary. */
  readonly matches: Partial<Record<Family, readonly (readonly Match[])[]>>;
  readonly origin: Origin;
}

export interface IR {
  readonly kind: 'ir';
  readonly ownership: Ownership;
  /** coexist: chains (a name, or a prefix and `*`) whose jumps apply.sh keeps ahead of ipfence's. */
  readonly runFirst: readonly string[];
  readonly rulesets: readonly Ruleset[];
  readonly routes: readonly RouteEntry[];
  readonly sets: readonly AddressSet[];
  readonly tests: readonly IntentTest[];
  /**
   * The policy's interface aliases (`interfaces:`), alias to kernel name: a question about a
   * packet (explain) names interfaces as the policy does. Absent in hand-built IR.
   */
  readonly interfaces?: ReadonlyMap<string, string>;
  /**
   * This host's addresses (`host.addresses`) per family, as CIDR texts: where a REDIRECT in nat
   * PREROUTING can send a connection (its incoming interface's primary address is one of them).
   * Absent when the policy does not list them (any address, then).
   */
  readonly hostAddresses?: Readonly<Partial<Record<Family, readonly string[]>>>;
}

/** What turns a policy path into a file position (the SourceMap); origins hold it, not a closure. */
export interface Locator {
  at(path: Path): Location;
}

/**
 * An origin whose file position is found only when something asks for it (a diagnostic). Large
 * policies then never need YAML positions unless they have findings (finding one is a short walk,
 * so it is not cached, and two compiles stay deep-equal). A class, not a closure per
 * rule: a 50,000-rule policy has 50,000 of them.
 */
class LazyOrigin implements Origin {
  // A #private field: how to find the position is not part of the origin's value.
  readonly #locator: Locator;
  constructor(
    readonly path: Path,
    readonly label: string,
    locator: Locator,
  ) {
    this.#locator = locator;
  }

  get loc(): Location {
    return this.#locator.at(this.path);
  }

  relabel(label: string): LazyOrigin {
    return new LazyOrigin(this.path, label, this.#locator);
  }
}

export const lazyOrigin = (path: Path, label: string, locator: Locator): Origin => new LazyOrigin(path, label, locator);

/** A rule read from line `line` of a ruleset file (iptables-save's output): no policy path, its comment as the label. */
export const rulesetOrigin = (file: string, line: number, label: string): Origin => ({ path: [], loc: { file, line, col: 1 }, label });

/** The same origin under another label (its role); never spread an origin, which would locate it. */
export const relabel = (o: Origin, label: string): Origin =>
  o instanceof LazyOrigin ? o.relabel(label) : new LazyOrigin(o.path, label, { at: () => o.loc });

export const rule = (matches: readonly Match[], target: Target, origin: Origin): Rule => ({ kind: 'rule', matches, target, origin });
export const fallbackRule = (matches: readonly Match[], target: Target, origin: Origin): Rule => ({ kind: 'rule', matches, target, origin, fallback: true });
export const chain = (name: string, policy: BuiltinPolicy | null, rules: readonly Rule[], hookedFrom?: readonly string[], hookedAt: 'start' | 'end' = 'start'): Chain =>
  hookedFrom ? { kind: 'chain', name, policy, rules, hookedFrom, ...(hookedAt === 'end' ? { hookedAt } : {}) } : { kind: 'chain', name, policy, rules };
export const table = (name: TableName, chains: readonly Chain[]): Table => ({ kind: 'table', name, chains });
export const ruleset = (family: Family, tables: readonly Table[]): Ruleset => ({ kind: 'ruleset', family, tables });

export const accept: Target = { kind: 'accept' };
export const drop: Target = { kind: 'drop' };
export const ret: Target = { kind: 'return' };
export const reject = (withType: RejectWith): Target => ({ kind: 'reject', with: withType });
export const jump = (chainName: string): Target => ({ kind: 'jump', chain: chainName });
export const hookJump = (chainName: string): Target => ({ kind: 'jump', chain: chainName, hook: true });

export function assertNever(x: never): never {
  throw new Error(`unexpected IR node: ${JSON.stringify(x)}`);
}
