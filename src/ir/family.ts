import type { Family } from './ir.js';

/**
 * Everything that differs between IPv4 and IPv6 is data in this record; no code path branches on
 * the family. ICMP names are the policy's family-neutral names mapped to what each tool accepts.
 */
export interface FamilyRecord {
  readonly family: Family;
  readonly label: 'IPv4' | 'IPv6';
  /** The family's digit in commands (`ip -4`, apply.sh's rules.v4 and hooks.v4). */
  readonly digit: 4 | 6;
  readonly outputFile: 'rules.v4' | 'rules.v6';
  readonly restoreCommand: 'iptables-restore' | 'ip6tables-restore';
  readonly ipCommand: 'ip -4' | 'ip -6';
  readonly icmpProto: string;
  readonly icmpModule: string;
  readonly icmpTypeOption: string;
  readonly icmpTypes: Readonly<Record<string, string>>;
  readonly rejectWith: Readonly<Record<'port-unreachable' | 'tcp-reset', string>>;
  /** TTL in IPv4, hop limit in IPv6: module and option of the exact-value match. */
  readonly hopLimitMatch: readonly [string, string];
  /** Accepted ahead of the allows under a drop policy (RFC 4890 for IPv6; nothing for IPv4). */
  readonly essentials: readonly Essential[];
}

export interface Essential {
  readonly icmpType: string;
  /** Neighbour discovery messages are valid only with hop limit 255 (RFC 4861), i.e. on-link. */
  readonly hopLimit255: boolean;
}

const sharedIcmp = ['echo-request', 'echo-reply', 'destination-unreachable', 'time-exceeded', 'parameter-problem', 'router-advertisement', 'router-solicitation', 'redirect'] as const;

export const IPV4: FamilyRecord = {
  family: 'ipv4',
  label: 'IPv4',
  digit: 4,
  outputFile: 'rules.v4',
  restoreCommand: 'iptables-restore',
  ipCommand: 'ip -4',
  icmpProto: 'icmp',
  icmpModule: 'icmp',
  icmpTypeOption: '--icmp-type',
  icmpTypes: { ...Object.fromEntries(sharedIcmp.map((n) => [n, n])), 'fragmentation-needed': 'fragmentation-needed', 'source-quench': 'source-quench' },
  rejectWith: { 'port-unreachable': 'icmp-port-unreachable', 'tcp-reset': 'tcp-reset' },
  hopLimitMatch: ['ttl', '--ttl-eq'],
  essentials: [],
};

export const IPV6: FamilyRecord = {
  family: 'ipv6',
  label: 'IPv6',
  digit: 6,
  outputFile: 'rules.v6',
  restoreCommand: 'ip6tables-restore',
  ipCommand: 'ip -6',
  icmpProto: 'ipv6-icmp',
  icmpModule: 'icmp6',
  icmpTypeOption: '--icmpv6-type',
  icmpTypes: {
    ...Object.fromEntries(sharedIcmp.map((n) => [n, n])),
    'packet-too-big': 'packet-too-big',
    'neighbour-solicitation': 'neighbour-solicitation',
    'neighbour-advertisement': 'neighbour-advertisement',
  },
  rejectWith: { 'port-unreachable': 'icmp6-port-unreachable', 'tcp-reset': 'tcp-reset' },
  hopLimitMatch: ['hl', '--hl-eq'],
  essentials: [
    { icmpType: 'destination-unreachable', hopLimit255: false },
    { icmpType: 'packet-too-big', hopLimit255: false },
    { icmpType: 'time-exceeded', hopLimit255: false },
    { icmpType: 'parameter-problem', hopLimit255: false },
    { icmpType: 'router-solicitation', hopLimit255: true },
    { icmpType: 'router-advertisement', hopLimit255: true },
    { icmpType: 'neighbour-solicitation', hopLimit255: true },
    { icmpType: 'neighbour-advertisement', hopLimit255: true },
  ],
};

export const FAMILIES: readonly FamilyRecord[] = [IPV4, IPV6];
export const familyRecord = (f: Family): FamilyRecord => (f === 'ipv4' ? IPV4 : IPV6);
