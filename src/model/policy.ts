import type { HelperName } from './helpers.js';
/** The policy as the schema admits it (schema/ipfence.schema.json is the authority). */
export type Action = 'allow' | 'deny' | 'drop' | 'reject';
export type DenyAction = 'deny' | 'drop' | 'reject';
export type ChainPolicy = 'accept' | 'drop' | 'reject';
export type Addrs = string | readonly string[];
export type Ports = number | string | readonly (number | string)[];
/** A protocol by name; `all` (alone) is every protocol. */
export type ProtoName = 'tcp' | 'udp' | 'sctp' | 'icmp';
export type Proto = ProtoName | 'all' | readonly ProtoName[];
export type FamilyChoice = 'ipv4' | 'ipv6' | 'both';
export type LogSpec = boolean | { readonly prefix?: string; readonly rate?: string; readonly burst?: number; readonly nflog?: number };
/** A named service (`ssh`) or a list of them, instead of `proto` and `port`. */
export type ServiceRef = string | readonly string[];

export type Suppress = Readonly<Record<string, string>>;

interface Common {
  readonly name?: string;
  readonly suppress?: Suppress;
  readonly proto?: Proto;
  readonly port?: Ports;
  readonly service?: ServiceRef;
  readonly 'icmp-type'?: string;
  readonly family?: FamilyChoice;
  readonly log?: LogSpec;
}

export interface InboundRule extends Common {
  readonly action?: Action;
  readonly from?: Addrs;
  readonly to?: Addrs;
  readonly interface?: string;
  readonly except?: Addrs;
  readonly others?: 'deny' | 'drop' | 'reject' | 'pass';
}
export interface OutboundRule extends Common {
  readonly action?: Action;
  readonly to?: Addrs;
  readonly from?: Addrs;
  readonly interface?: string;
  readonly except?: Addrs;
}
export interface ForwardRule extends Common {
  readonly action?: Action;
  readonly from?: Addrs;
  readonly to?: Addrs;
  readonly in?: string;
  readonly out?: string;
  readonly except?: Addrs;
}
export interface UserException {
  readonly name?: string;
  readonly to?: Addrs;
  readonly port?: Ports;
  readonly proto?: Proto;
  readonly interface?: string;
}
export interface UserRule {
  readonly name?: string;
  readonly suppress?: Suppress;
  readonly user?: string | number;
  readonly group?: string | number;
  readonly outbound?: DenyAction;
  readonly except?: readonly UserException[];
  readonly family?: FamilyChoice;
  readonly log?: LogSpec;
}
export interface LimitRule extends Omit<Common, 'icmp-type' | 'service'> {
  readonly rate: string;
  readonly burst?: number;
  readonly per?: 'source' | 'all';
  readonly chain?: 'input' | 'forward';
  readonly interface?: string;
  readonly to?: Addrs;
  readonly from?: Addrs;
  readonly action?: DenyAction;
}
export interface RedirectRule {
  readonly name?: string;
  readonly suppress?: Suppress;
  readonly proto?: Proto;
  readonly port: number | string;
  readonly 'to-port': number;
  readonly 'local-address'?: Addrs;
  readonly from?: Addrs;
  readonly interface?: string;
  readonly local?: boolean;
  readonly 'hide-target'?: boolean;
  readonly family?: FamilyChoice;
}
export interface MarkRule extends Omit<Common, 'log' | 'service'> {
  readonly mark: number;
  readonly to?: Addrs;
  readonly from?: Addrs;
  readonly interface?: string;
  readonly traffic?: 'all' | 'local' | 'incoming';
  readonly table?: number;
  readonly via?: Addrs;
  readonly dev?: string;
  readonly routes?: readonly { readonly to: Addrs; readonly via?: Addrs; readonly dev?: string }[];
}

/** Source NAT to the outgoing interface's address. */
export interface MasqueradeRule {
  readonly name?: string;
  readonly suppress?: Suppress;
  readonly out: string;
  readonly from?: Addrs;
  readonly to?: Addrs;
  readonly family?: FamilyChoice;
}
/** Source NAT to an address of the author's. */
export interface SnatRule extends MasqueradeRule {
  readonly 'to-source': Addrs;
}

export interface ForwardPort {
  readonly name?: string;
  readonly suppress?: Suppress;
  readonly proto?: Proto;
  readonly port: number | string;
  readonly to: Addrs;
  readonly 'to-port'?: number;
  readonly interface?: string;
  readonly 'local-address'?: Addrs;
  readonly from?: Addrs;
  readonly hairpin?: { readonly from: Addrs; readonly interface?: string };
  readonly family?: FamilyChoice;
  readonly log?: LogSpec;
}

export interface NotrackRule {
  readonly name?: string;
  readonly suppress?: Suppress;
  readonly proto?: Proto;
  readonly port: Ports;
  readonly from?: Addrs;
  readonly to?: Addrs;
  readonly interface?: string;
  readonly family?: FamilyChoice;
}

export interface HelperRule {
  readonly name?: string;
  readonly suppress?: Suppress;
  readonly helper: HelperName;
  readonly proto?: Proto;
  readonly port?: Ports;
  readonly direction?: 'in' | 'out' | 'both';
  readonly from?: Addrs;
  readonly to?: Addrs;
  readonly interface?: string;
  readonly family?: FamilyChoice;
}

export interface DockerPublished {
  readonly name?: string;
  readonly port: number | string;
  readonly proto?: 'tcp' | 'udp' | 'sctp';
  readonly from?: Addrs;
  readonly to?: Addrs;
  readonly others?: 'deny' | 'drop' | 'reject';
  readonly suppress?: Suppress;
}
export interface DockerEgress {
  readonly name?: string;
  readonly to?: Addrs;
  readonly from?: Addrs;
  readonly port?: Ports;
  readonly proto?: Proto;
  readonly action?: Action;
  readonly suppress?: Suppress;
}
export interface DockerSection {
  readonly interface?: string;
  readonly bridges?: readonly string[];
  readonly published?: readonly DockerPublished[];
  readonly egress?: readonly DockerEgress[];
  readonly 'egress-default'?: Action;
}

/** An intent test: a set of new connections, and the verdict every one of them must get. */
export interface IntentTestSpec {
  readonly name?: string;
  readonly direction?: 'in' | 'out' | 'forward';
  readonly from?: Addrs;
  readonly to?: Addrs;
  readonly proto?: Proto;
  readonly port?: Ports;
  readonly service?: ServiceRef;
  readonly 'icmp-type'?: string;
  readonly 'hop-limit'?: number;
  readonly user?: string | number;
  readonly group?: string | number;
  readonly interface?: string;
  readonly in?: string;
  readonly out?: string;
  readonly family?: FamilyChoice;
  readonly expect: 'allow' | 'deny' | 'drop' | 'reject';
}

export interface Policy {
  readonly version: 1;
  /** Read by compose (src/load/compose.ts) before the schema sees the policy; in the schema for editors. */
  readonly include?: string | readonly string[];
  readonly variables?: Readonly<Record<string, unknown>>;
  readonly host?: { readonly addresses?: Addrs };
  readonly ownership?: 'full' | 'coexist';
  readonly coexist?: { readonly 'run-first'?: readonly string[] };
  readonly docker?: DockerSection;
  readonly defaults?: {
    readonly input?: ChainPolicy;
    readonly forward?: ChainPolicy;
    readonly output?: ChainPolicy;
    readonly deny?: 'drop' | 'reject';
    readonly established?: boolean;
    readonly 'icmpv6-essentials'?: boolean;
    readonly order?: 'allow-first' | 'as-written';
    readonly 'set-threshold'?: number;
    readonly 'drop-invalid'?: boolean;
  };
  readonly interfaces?: Readonly<Record<string, string>>;
  readonly addresses?: Readonly<Record<string, Addrs>>;
  readonly services?: Readonly<Record<string, readonly string[]>>;
  readonly inbound?: readonly InboundRule[];
  readonly outbound?: readonly OutboundRule[];
  readonly forward?: readonly ForwardRule[];
  readonly users?: readonly UserRule[];
  readonly limits?: readonly LimitRule[];
  readonly redirects?: readonly RedirectRule[];
  readonly marks?: readonly MarkRule[];
  readonly masquerade?: readonly MasqueradeRule[];
  readonly snat?: readonly SnatRule[];
  readonly forwards?: readonly ForwardPort[];
  readonly notrack?: readonly NotrackRule[];
  readonly helpers?: readonly HelperRule[];
  readonly checks?: Readonly<Record<string, 'error' | 'warning' | 'off'>>;
  readonly logging?: { readonly prefix?: string; readonly 'accept-prefix'?: string; readonly rate?: string; readonly burst?: number; readonly dropped?: boolean; readonly nflog?: number };
  readonly tests?: readonly IntentTestSpec[];
}

/** The policy's lists of rules, each rule of which may carry `suppress`. */
export const RULE_SECTIONS = ['inbound', 'outbound', 'forward', 'users', 'limits', 'redirects', 'marks', 'masquerade', 'snat', 'forwards', 'notrack', 'helpers'] as const satisfies readonly (keyof Policy)[];
export type RuleSection = (typeof RULE_SECTIONS)[number];
