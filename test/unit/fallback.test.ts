import { describe, expect, it } from 'vitest';
import { fallbackRuleset } from '../../src/emit/iptables/fallback.js';
import { compile } from '../../src/pipeline.js';

/** The --boot fallback: closed, but the policy's own SSH, and never an SSH allow past a deny it cannot carry. */
function fallback(inbound: string, family: 'ipv4' | 'ipv6' = 'ipv4'): string[] {
  const r = compile(`version: 1\ndefaults: { input: drop, set-threshold: 3, order: as-written }\ninbound:\n${inbound}`, 'f.yaml');
  if (!r.ir || !r.artifacts) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  const rs = r.ir.rulesets.find((x) => x.family === family)!;
  const text = fallbackRuleset(rs);
  return text.slice(text.indexOf('*filter')).split('\n').filter((l) => l.startsWith('-A ') || l.startsWith(':INPUT') || l.startsWith(':FORWARD'));
}
const BASE = [':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', '-A INPUT -i lo -j ACCEPT', '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'];

describe('the --boot fallback', () => {
  const SCATTERED = '[192.0.2.7, 198.51.100.9, 203.0.113.5, 192.0.2.200]';
  it.each([
    ['an SSH allow from a network is kept, narrowed to port 22, with the reject of the others', '  - { name: ssh, port: [22, 2222], from: 10.0.0.0/8 }\n', ['-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22 -m comment --comment ssh -j ACCEPT', '-A INPUT -p tcp -m tcp --dport 22 -m comment --comment ssh (others) -j REJECT --reject-with tcp-reset']],
    ['other ports are closed', '  - { name: web, port: 443 }\n', []],
    ['a deny of an address before the allow is kept with it, ahead of it', '  - { name: block, action: deny, from: 192.0.2.7 }\n  - { name: ssh, port: 22 }\n', ['-A INPUT -s 192.0.2.7/32 -p tcp -m tcp --dport 22 -m comment --comment block -j REJECT --reject-with tcp-reset', '-A INPUT -s 192.0.2.7/32 -p tcp -m tcp --dport 22 -m comment --comment block -j REJECT --reject-with icmp-port-unreachable', '-A INPUT -p tcp -m tcp --dport 22 -m comment --comment ssh -j ACCEPT']],
    ['a deny the fallback cannot carry (an address set) ends the list: no SSH after it', `  - { name: block, action: deny, from: ${SCATTERED} }\n  - { name: ssh, port: 22 }\n`, []],
    ['an allow that needs a set is left out', `  - { name: ssh, port: 22, from: ${SCATTERED} }\n`, ['-A INPUT -p tcp -m tcp --dport 22 -m comment --comment ssh (others) -j REJECT --reject-with tcp-reset']],
  ])('%s', (_what, inbound, rules) => {
    const out = fallback(inbound);
    expect(out.slice(0, BASE.length)).toEqual(BASE);
    expect(out.slice(BASE.length).map((l) => l.replace(/"/g, ''))).toEqual(rules);
  });
  it('IPv6 keeps neighbour discovery, or nothing would reach the host', () => {
    expect(fallback('  - { name: ssh, port: 22 }\n', 'ipv6')).toContain('-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -j ACCEPT');
  });
});
