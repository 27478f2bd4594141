import { hookChain } from '../../model/chains.js';
import type { Chain, Family, Match, Rule, Ruleset } from '../../model/ir.js';
import { renderLine } from './render.js';

/**
 * What apply.sh --boot loads when this policy cannot be loaded and no earlier one can either: a
 * host must not start open, and a remote one must stay reachable. Every connection in and every
 * forwarded one is refused, except loopback, replies, IPv6 neighbour discovery, and this policy's
 * own SSH access: its inbound rules for tcp port 22, in order, narrowed to port 22 — the allows,
 * and the denies before them, so an address the policy refuses SSH stays refused.
 *
 * Only rules whose every match the fallback can carry alone are kept (addresses, interfaces,
 * protocol, ports): address sets are not loaded at that point, and a user, a rate or a chain's
 * verdict are not known. A deny the fallback cannot carry ends the list: the allows after it could
 * let in what it refused, so they are left out (that host then has no SSH in the fallback).
 */
const SSH_PORT = 22;

const CARRIED: ReadonlySet<Match['kind']> = new Set(['src', 'dst', 'iprange', 'in', 'proto', 'dports']);

/** The rule, narrowed to tcp port 22; undefined when it does not concern that port or cannot be carried. */
function narrowed(r: Rule): Rule | 'cannot' | undefined {
  const proto = r.matches.find((m) => m.kind === 'proto');
  if (proto && (proto.kind !== 'proto' || proto.proto !== 'tcp')) return undefined;
  const dports = r.matches.find((m) => m.kind === 'dports');
  if (dports && dports.kind === 'dports' && !dports.ports.some((p) => p.lo <= SSH_PORT && SSH_PORT <= p.hi)) return undefined;
  if (!r.matches.every((m) => CARRIED.has(m.kind))) return 'cannot';
  const rest = r.matches.filter((m) => m.kind !== 'proto' && m.kind !== 'dports');
  return { ...r, matches: [...rest, { kind: 'proto', proto: 'tcp' }, { kind: 'dports', proto: 'tcp', ports: [{ lo: SSH_PORT, hi: SSH_PORT }] }] };
}

/** The SSH rules of the policy's INPUT chain that the fallback keeps, in order. */
function sshRules(rs: Ruleset): Rule[] {
  const input = rs.tables.find((t) => t.name === 'filter')?.chains.find((c) => c.name === hookChain('INPUT'));
  const out: Rule[] = [];
  for (const r of input?.rules ?? []) {
    const kind = r.target.kind;
    if (kind === 'log') continue;
    const deny = kind === 'drop' || kind === 'reject';
    if (kind !== 'accept' && !deny) {
      // A jump or a verdict the fallback cannot follow: what comes after may depend on it.
      break;
    }
    const n = narrowed(r);
    if (n === 'cannot') {
      if (deny) break;
      continue;
    }
    // Loopback is accepted whole already.
    if (n !== undefined && !(kind === 'accept' && n.matches.some((m) => m.kind === 'in' && m.iface === 'lo'))) out.push(n);
  }
  return out;
}

/** IPv6 needs neighbour discovery to reach anything; IPv4's ARP is not filtered. */
const NEIGHBOURS: Record<Family, readonly string[]> = {
  ipv4: [],
  ipv6: ['router-advertisement', 'neighbour-solicitation', 'neighbour-advertisement'].map((t) => `-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type ${t} -j ACCEPT`),
};

/** The fallback ruleset, in iptables-restore form (all four tables, so it replaces every one). */
export function fallbackRuleset(rs: Ruleset): string {
  const input: Chain = { kind: 'chain', name: 'INPUT', policy: 'DROP', rules: [] };
  return [
    '*raw', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', 'COMMIT',
    '*mangle', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', 'COMMIT',
    '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', 'COMMIT',
    '*filter', ':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]',
    '-A INPUT -i lo -j ACCEPT',
    '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    ...NEIGHBOURS[rs.family],
    ...sshRules(rs).map((r) => renderLine(input, r, rs.family)),
    'COMMIT',
  ].join('\n');
}
