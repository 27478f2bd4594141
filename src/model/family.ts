import { lookupTable } from '../util/lookup.js';
import type { HelperName } from './helpers.js';
import type { Family, L4 } from './ir.js';

/**
 * Everything that differs between IPv4 and IPv6 is data in this record; no code path branches on
 * the family. ICMP names are the policy's family-neutral names mapped to what each tool accepts.
 */
export interface FamilyRecord {
  readonly family: Family;
  readonly label: 'IPv4' | 'IPv6';
  /** The family's digit in commands (`ip -4`, apply.sh's rules.v4 and hooks.v4). */
  readonly digit: 4 | 6;
  /** Bits and bytes of an address; a host is a /bits. */
  readonly bits: 32 | 128;
  readonly bytes: 4 | 16;
  /** The iptables command of the family (its -restore and -save are beside it). */
  readonly tool: 'iptables' | 'ip6tables';
  /** What `ipset create ... family` calls it. */
  readonly ipsetFamily: 'inet' | 'inet6';
  readonly outputFile: 'rules.v4' | 'rules.v6';
  readonly restoreCommand: 'iptables-restore' | 'ip6tables-restore';
  readonly ipCommand: 'ip -4' | 'ip -6';
  readonly icmpProto: string;
  readonly icmpModule: string;
  readonly icmpTypeOption: string;
  /** The policy's ICMP names: what the tool calls each, and its type and (for one code only) code. */
  readonly icmp: Readonly<Record<string, IcmpType>>;
  /** The IP protocol number of this family's ICMP (1, 58). */
  readonly icmpNumber: number;
  readonly rejectWith: Readonly<Record<'port-unreachable' | 'tcp-reset', string>>;
  /** TTL in IPv4, hop limit in IPv6: module and option of the exact-value match. */
  readonly hopLimitMatch: readonly [string, string];
  /** What encloses an address followed by `:port` (DNAT's --to-destination): IPv6 needs brackets. */
  readonly portedAddress: readonly [string, string];
  /** The loopback address: where REDIRECT in nat OUTPUT sends a connection this host opens. */
  readonly loopback: '127.0.0.1' | '::1';
  /**
   * The link-local prefix whose destinations a REDIRECT in PREROUTING sends to the interface's
   * own link-local address (the kernel, since 6.6, takes an IPv6 interface's first address of
   * the destination's scope), which `host.addresses` does not list; null where it takes the
   * interface's primary address whatever the destination.
   */
  readonly linkLocal: string | null;
  /** Whether any rule ipfence writes asks the hop limit (IPv6's neighbour discovery at 255, MLD at 1); no rule asks an IPv4 TTL. */
  readonly hopLimitAsked: boolean;
  /** Options of `ip addr add` for an address usable at once: IPv6's duplicate address detection would hold it back a second. */
  readonly addrAddOptions: readonly string[];
  /** Accepted ahead of the allows under a drop policy (RFC 4890 for IPv6; nothing for IPv4). */
  readonly essentials: readonly Essential[];
  /**
   * The control connections' protocols the kernel has each conntrack helper for in this family
   * (none: no such helper here). iptables-restore refuses CT --helper for any other: irc, pptp,
   * snmp and netbios-ns exist for IPv4 only, and no helper watches sctp.
   */
  readonly helpers: Readonly<Record<HelperName, readonly L4[]>>;
}

export interface IcmpType {
  /** The name iptables or ip6tables takes after --icmp-type / --icmpv6-type. */
  readonly tool: string;
  readonly type: number;
  /** Set for a name that means one code of its type (fragmentation-needed is type 3, code 4). */
  readonly code?: number;
}

export interface Essential {
  /** The tool's name (or number) of the type. */
  readonly icmpType: string;
  /**
   * Link-local messages are valid only with an exact hop limit, which proves they came from the
   * link: 255 for neighbour discovery (RFC 4861), 1 for multicast listener discovery (RFC 3810).
   */
  readonly hopLimit: 255 | 1 | null;
  /** The policy's name, for the rule's comment. */
  readonly name: string;
}
const essential = (name: string, tool: string, hopLimit: 255 | 1 | null): Essential => ({ icmpType: tool, hopLimit, name });

const icmpType = (tool: string, type: number, code?: number): IcmpType => (code === undefined ? { tool, type } : { tool, type, code });

export const IPV4: FamilyRecord = {
  family: 'ipv4',
  label: 'IPv4',
  digit: 4,
  bits: 32,
  bytes: 4,
  tool: 'iptables',
  ipsetFamily: 'inet',
  outputFile: 'rules.v4',
  restoreCommand: 'iptables-restore',
  ipCommand: 'ip -4',
  icmpProto: 'icmp',
  icmpModule: 'icmp',
  icmpTypeOption: '--icmp-type',
  icmp: lookupTable({
    'echo-reply': icmpType('echo-reply', 0),
    'destination-unreachable': icmpType('destination-unreachable', 3),
    'fragmentation-needed': icmpType('fragmentation-needed', 3, 4),
    'source-quench': icmpType('source-quench', 4),
    redirect: icmpType('redirect', 5),
    'echo-request': icmpType('echo-request', 8),
    'router-advertisement': icmpType('router-advertisement', 9),
    'router-solicitation': icmpType('router-solicitation', 10),
    'time-exceeded': icmpType('time-exceeded', 11),
    'parameter-problem': icmpType('parameter-problem', 12),
  }),
  icmpNumber: 1,
  rejectWith: { 'port-unreachable': 'icmp-port-unreachable', 'tcp-reset': 'tcp-reset' },
  hopLimitMatch: ['ttl', '--ttl-eq'],
  portedAddress: ['', ''],
  loopback: '127.0.0.1',
  linkLocal: null,
  hopLimitAsked: false,
  addrAddOptions: [],
  essentials: [],
  helpers: { ftp: ['tcp'], tftp: ['udp'], sip: ['tcp', 'udp'], irc: ['tcp'], pptp: ['tcp'], snmp: ['udp'], amanda: ['udp'], sane: ['tcp'], 'netbios-ns': ['udp'] },
};

export const IPV6: FamilyRecord = {
  family: 'ipv6',
  label: 'IPv6',
  digit: 6,
  bits: 128,
  bytes: 16,
  tool: 'ip6tables',
  ipsetFamily: 'inet6',
  outputFile: 'rules.v6',
  restoreCommand: 'ip6tables-restore',
  ipCommand: 'ip -6',
  icmpProto: 'ipv6-icmp',
  icmpModule: 'icmp6',
  icmpTypeOption: '--icmpv6-type',
  icmp: lookupTable({
    'destination-unreachable': icmpType('destination-unreachable', 1),
    'packet-too-big': icmpType('packet-too-big', 2),
    'time-exceeded': icmpType('time-exceeded', 3),
    'parameter-problem': icmpType('parameter-problem', 4),
    'echo-request': icmpType('echo-request', 128),
    'echo-reply': icmpType('echo-reply', 129),
    'router-solicitation': icmpType('router-solicitation', 133),
    'router-advertisement': icmpType('router-advertisement', 134),
    'neighbour-solicitation': icmpType('neighbour-solicitation', 135),
    'neighbour-advertisement': icmpType('neighbour-advertisement', 136),
    redirect: icmpType('redirect', 137),
    // ip6tables has no names for MLD: its types go by number.
    'mld-listener-query': icmpType('130', 130),
    'mld-listener-report': icmpType('131', 131),
    'mld-listener-done': icmpType('132', 132),
    'mld2-listener-report': icmpType('143', 143),
  }),
  icmpNumber: 58,
  rejectWith: { 'port-unreachable': 'icmp6-port-unreachable', 'tcp-reset': 'tcp-reset' },
  hopLimitMatch: ['hl', '--hl-eq'],
  portedAddress: ['[', ']'],
  loopback: '::1',
  linkLocal: 'fe80::/10',
  hopLimitAsked: true,
  addrAddOptions: ['nodad'],
  essentials: [
    essential('destination-unreachable', 'destination-unreachable', null),
    essential('packet-too-big', 'packet-too-big', null),
    essential('time-exceeded', 'time-exceeded', null),
    essential('parameter-problem', 'parameter-problem', null),
    essential('router-solicitation', 'router-solicitation', 255),
    essential('router-advertisement', 'router-advertisement', 255),
    essential('neighbour-solicitation', 'neighbour-solicitation', 255),
    essential('neighbour-advertisement', 'neighbour-advertisement', 255),
    // A switch that snoops MLD forwards a group (the solicited-node groups neighbour discovery
    // uses among them) only to ports whose hosts report it, and asks with queries.
    essential('mld-listener-query', '130', 1),
    essential('mld-listener-report', '131', 1),
    essential('mld-listener-done', '132', 1),
    essential('mld2-listener-report', '143', 1),
  ],
  helpers: { ftp: ['tcp'], tftp: ['udp'], sip: ['tcp', 'udp'], irc: [], pptp: [], snmp: [], amanda: ['udp'], sane: ['tcp'], 'netbios-ns': [] },
};

/** The families in their order everywhere (IPv4 first): records, and their names. */
export const FAMILIES: readonly FamilyRecord[] = [IPV4, IPV6];
export const FAMILY_NAMES: readonly Family[] = ['ipv4', 'ipv6'];
const RECORDS: Readonly<Record<Family, FamilyRecord>> = { ipv4: IPV4, ipv6: IPV6 };
export const familyRecord = (f: Family): FamilyRecord => RECORDS[f];

/** The families a policy's `family:` choice leaves, shared arrays: `both` or none is both. */
const CHOSEN: Readonly<Record<'ipv4' | 'ipv6' | 'both', readonly Family[]>> = { ipv4: ['ipv4'], ipv6: ['ipv6'], both: FAMILY_NAMES };
export const chosenFamilies = (choice: 'ipv4' | 'ipv6' | 'both' | undefined): readonly Family[] => CHOSEN[choice ?? 'both'];

/** The families `test` holds for, in order, as one of four shared arrays (rules by the hundred thousand share them). */
const BY_MASK: readonly (readonly Family[])[] = [[], CHOSEN.ipv4, CHOSEN.ipv6, FAMILY_NAMES];
export function familiesWhere(test: (f: Family) => boolean): readonly Family[] {
  let mask = 0;
  for (let i = 0; i < FAMILY_NAMES.length; i++) if (test(FAMILY_NAMES[i]!)) mask |= 1 << i;
  return BY_MASK[mask]!;
}
