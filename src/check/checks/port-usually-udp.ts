import { diag, type Diagnostic } from '../../diagnostics/diagnostic.js';
import type { Path } from '../../model/path.js';
import type { Ports, Proto, ServiceRef } from '../../model/policy.js';
import { SERVICES } from '../../model/services.js';
import { policyLoc, type Check, type CheckInput } from './api.js';

/**
 * Ports whose service speaks UDP (some of them TCP as well): written without `proto`, a rule of
 * them matches tcp only, which is rarely what its author meant. The built-in `service:` that
 * gives the right protocols, where there is one (src/model/services.ts).
 */
const USUALLY_UDP: ReadonlyMap<number, { readonly what: string; readonly service?: string }> = new Map([
  [53, { what: 'DNS', service: 'dns' }],
  [67, { what: 'DHCP', service: 'dhcp' }],
  [68, { what: 'DHCP (client)' }],
  [69, { what: 'TFTP', service: 'tftp' }],
  [123, { what: 'NTP', service: 'ntp' }],
  [161, { what: 'SNMP', service: 'snmp' }],
  [162, { what: 'SNMP traps' }],
  [500, { what: 'IKE (IPsec)', service: 'ipsec' }],
  [514, { what: 'syslog', service: 'syslog' }],
  [546, { what: 'DHCPv6 (client)' }],
  [547, { what: 'DHCPv6', service: 'dhcpv6' }],
  [1194, { what: 'OpenVPN', service: 'openvpn' }],
  [1900, { what: 'SSDP' }],
  [4500, { what: 'IKE NAT traversal (IPsec)', service: 'ipsec' }],
  [5353, { what: 'mDNS', service: 'mdns' }],
  [51820, { what: 'WireGuard', service: 'wireguard' }],
]);

/** What a rule of any section carries that decides its protocol. */
interface Ported {
  readonly port?: Ports;
  readonly proto?: Proto;
  readonly service?: ServiceRef;
}

/**
 * The lists whose entries take `port` and, without `proto`, mean tcp. notrack means udp without
 * it, and a helper takes its helper's protocol: neither is here. `suppress` sits on the rule of a
 * section (a user's exceptions are suppressed on the user).
 */
function* portedEntries(policy: CheckInput['policy']): Generator<{ readonly entry: Ported; readonly at: Path; readonly rule: Path }> {
  for (const section of ['inbound', 'outbound', 'forward', 'limits', 'redirects', 'marks', 'forwards', 'tests'] as const) {
    const list = (policy[section] ?? []) as readonly Ported[];
    for (let i = 0; i < list.length; i++) yield { entry: list[i]!, at: [section, i], rule: [section, i] };
  }
  for (let i = 0; i < (policy.users ?? []).length; i++) {
    const except = policy.users![i]!.except ?? [];
    for (let j = 0; j < except.length; j++) yield { entry: except[j]!, at: ['users', i, 'except', j], rule: ['users', i] };
  }
  for (const part of ['published', 'egress'] as const) {
    const list = (policy.docker?.[part] ?? []) as readonly Ported[];
    for (let i = 0; i < list.length; i++) yield { entry: list[i]!, at: ['docker', part, i], rule: ['docker', part, i] };
  }
}

export const portUsuallyUdp: Check = {
  code: 'port-usually-udp',
  kind: 'lint',
  docs: 'A port whose service usually speaks UDP (DNS 53, DHCP 67/68 and 546/547, TFTP 69, NTP 123, SNMP 161/162, IKE 500/4500, syslog 514, OpenVPN 1194, SSDP 1900, mDNS 5353, WireGuard 51820) given without `proto`: a rule of ports without `proto` matches tcp only. Write the service instead (`service: dns` gives tcp and udp), or `proto: udp` (or `[tcp, udp]`); write `proto: tcp` when tcp is what you mean. Ranges are not judged.',
  example: 'version: 1\ninbound:\n  - { name: dns, port: 53 }\n',
  check: (input) => {
    const out: Diagnostic[] = [];
    for (const { entry, at, rule } of portedEntries(input.policy)) {
      if (entry.port === undefined || entry.proto !== undefined || entry.service !== undefined) continue;
      const ports = Array.isArray(entry.port) ? entry.port : [entry.port];
      ports.forEach((p, k) => {
        // A single port only (text is a range): "50-60" is deliberately broad, whatever it includes.
        const n = typeof p === 'number' ? p : undefined;
        const known = n === undefined ? undefined : USUALLY_UDP.get(n);
        if (!known) return;
        const fix = known.service ? `write \`service: ${known.service}\` instead of \`port\` (${SERVICES[known.service]!.join(', ')}), or \`proto: udp\`` : 'write `proto: udp` (or `proto: [tcp, udp]`)';
        const where = policyLoc(input, Array.isArray(entry.port) ? [...at, 'port', k] : [...at, 'port']);
        out.push(diag('port-usually-udp', where, `port ${n} (${known.what}) is usually UDP, but without \`proto\` this rule matches tcp only; ${fix}, or \`proto: tcp\` if tcp is what you mean`, undefined, rule));
      });
    }
    return out;
  },
};
