import type { L4 } from './ir.js';

/** The kernel's conntrack helpers that `helpers:` can attach (the schema's enum). */
export const HELPER_NAMES = ['ftp', 'tftp', 'sip', 'irc', 'pptp', 'snmp', 'amanda', 'sane', 'netbios-ns'] as const;
export type HelperName = (typeof HELPER_NAMES)[number];

export const isHelperName = (s: string): s is HelperName => (HELPER_NAMES as readonly string[]).includes(s);

/**
 * What a helper is, as data: its control connection where the policy does not say (the kernel
 * module's defaults), and the connections it announces on one, which conntrack then calls
 * RELATED. Which families and protocols the kernel has each helper for is the family record's
 * (`helpers`).
 */
export interface HelperRecord {
  readonly control: readonly [L4, number];
  /** The IP protocols of the connections it announces (47: pptp's GRE). */
  readonly relatedProtos: readonly number[];
  /**
   * Who opens them: `peers`, either end of the control connection to the other (a data
   * connection, a media stream); `anyone`, any address to the control connection's client
   * (broadcast replies, IRC's DCC, whose announcing side names any address).
   */
  readonly relatedFrom: 'peers' | 'anyone';
}

const TCP = 6;
const UDP = 17;
const GRE = 47;

export const HELPERS: Readonly<Record<HelperName, HelperRecord>> = {
  ftp: { control: ['tcp', 21], relatedProtos: [TCP], relatedFrom: 'peers' },
  tftp: { control: ['udp', 69], relatedProtos: [UDP], relatedFrom: 'peers' },
  sip: { control: ['udp', 5060], relatedProtos: [UDP, TCP], relatedFrom: 'peers' },
  irc: { control: ['tcp', 6667], relatedProtos: [TCP], relatedFrom: 'anyone' },
  pptp: { control: ['tcp', 1723], relatedProtos: [GRE], relatedFrom: 'peers' },
  snmp: { control: ['udp', 161], relatedProtos: [UDP], relatedFrom: 'anyone' },
  amanda: { control: ['udp', 10080], relatedProtos: [TCP], relatedFrom: 'peers' },
  sane: { control: ['tcp', 6566], relatedProtos: [TCP], relatedFrom: 'peers' },
  'netbios-ns': { control: ['udp', 137], relatedProtos: [UDP], relatedFrom: 'anyone' },
};
