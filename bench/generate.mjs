// Policy generators for the benchmark: N distinct dual-stack rules and the equivalent ferm config.
// Deterministic: rule i gets its own IPv4 and IPv6 source, port and verdict.

const v4 = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const v6 = (i) => `2001:db8:${((i >> 16) & 0xffff).toString(16)}::${(i & 0xffff).toString(16)}`;
/** The same addresses in RFC 5952 text, as tools print them (`2001:db8::5`, not `2001:db8:0::5`). */
const v6Canonical = (i) => {
  const hi = (i >> 16) & 0xffff;
  const lo = i & 0xffff;
  return `2001:db8:${hi === 0 ? '' : `${hi.toString(16)}:`}:${lo === 0 ? '' : lo.toString(16)}`;
};
const port = (i) => 1024 + (i % 60000);

/**
 * N inbound rules, each for one IPv4 and one IPv6 source (so 2N emitted rules); one in four drops.
 * Variants: `allowFirst` leaves the default order (allows first, so the order check runs; no two
 * rules overlap, so it means the same), `v4Only` gives IPv4 sources only (every drop is then a
 * family-asymmetry warning that needs its file position), `canonicalV6` writes the IPv6 sources
 * in RFC 5952 text (the compiler then keeps the text as written).
 */
export function ipfencePolicy(n, { allowFirst = false, v4Only = false, canonicalV6 = false } = {}) {
  const lines = ['version: 1', `defaults: { input: drop${allowFirst ? '' : ', order: as-written'} }`, 'inbound:', '  - { name: ssh, port: 22 }'];
  for (let i = 0; i < n; i++) {
    const action = i % 4 === 3 ? 'drop' : 'allow';
    const from = v4Only ? `["${v4(i)}"]` : `["${v4(i)}", "${canonicalV6 ? v6Canonical(i) : v6(i)}"]`;
    // others: pass = no implicit allowlist deny, so the rules mean what ferm's do.
    lines.push(`  - { name: r${i}, port: ${port(i)}, from: ${from}, action: ${action}${action === 'allow' ? ', others: pass' : ''} }`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * N outbound rules: N/2 host denies, then N/2 allows of /24 networks (none overlapping), in the
 * default allow-first order. Its order check must index networks, not compare every pair.
 */
export function egressPolicy(n) {
  const lines = ['version: 1', 'defaults: { output: drop }', 'outbound:'];
  const half = Math.floor(n / 2);
  for (let i = 0; i < half; i++) lines.push(`  - { name: d${i}, to: ["${v4(i)}"], action: drop }`);
  for (let i = 0; i < n - half; i++) lines.push(`  - { name: a${i}, to: ["192.${(i >> 8) & 255}.${i & 255}.0/24"] }`);
  return `${lines.join('\n')}\n`;
}

/** The same rules for ferm: one dual-stack domain; @ipfilter keeps each family's addresses. */
export function fermConfig(n) {
  const lines = ['domain (ip ip6) table filter {', '  chain INPUT {', '    policy DROP;', '    mod conntrack ctstate (ESTABLISHED RELATED) ACCEPT;', '    interface lo ACCEPT;', '    proto tcp dport 22 ACCEPT;'];
  for (let i = 0; i < n; i++) {
    const verdict = i % 4 === 3 ? 'DROP' : 'ACCEPT';
    lines.push(`    saddr @ipfilter((${v4(i)} ${v6(i)})) proto tcp dport ${port(i)} mod comment comment "r${i}" ${verdict};`);
  }
  lines.push('  }', '}');
  return `${lines.join('\n')}\n`;
}

/**
 * The shape operators write, every section mixed, both families. Entry i is one of: an allowlist
 * of two sources (IPv4 and IPv6) on a port of its own, a ban of one host on every port, an open
 * port, an outbound deny of one host, a user blocked from opening connections except to one
 * host and port, a per-source rate limit on a port, a redirect, a forwarded flow, a mark. The
 * addresses of each kind come from ranges of their own, so no two rules contradict each other
 * and the default allow-first order means what ferm's written order does.
 */
const KINDS = ['allowlist', 'allowlist', 'ban', 'open', 'outbound-deny', 'user', 'limit', 'allowlist', 'redirect', 'forward', 'ban', 'mark'];
const kindOf = (i) => KINDS[i % KINDS.length];
const net = (a, i) => `${a}.${(i >> 8) & 255}.${i & 255}`;
const net6 = (tag, i) => `2001:db8:${tag}:${(i & 0xffff).toString(16)}::1`;
const opPort = (i) => 1024 + (i % 50000);
const toPort = (i) => 60000 + (i % 5000);

export function operatorPolicy(n, { allowFirst = false } = {}) {
  /** @type {Record<'bans' | 'inbound' | 'outbound' | 'forward' | 'users' | 'limits' | 'redirects' | 'marks', string[]>} */
  const s = { bans: [], inbound: [], outbound: [], forward: [], users: [], limits: [], redirects: [], marks: [] };
  for (let i = 0; i < n; i++) {
    const p = opPort(i);
    switch (kindOf(i)) {
      case 'allowlist': s.inbound.push(`  - { name: allow-${i}, port: ${p}, from: [${net('10.1', i)}, "${net6('a', i)}"] }`); break;
      // Written first, as in ferm: a ban on every port is first-match (as-written) order. Under
      // allow-first a ban must not overlap an allow, so it bans the host from one allowlisted port.
      case 'ban': s.bans.push(`  - { name: ban-${i}, from: [${net('172.16', i)}, "${net6('b', i)}"]${allowFirst ? `, port: ${opPort(i - 1)}` : ''}, action: drop }`); break;
      case 'open': s.inbound.push(`  - { name: open-${i}, port: ${p}, proto: [tcp, udp] }`); break;
      case 'outbound-deny': s.outbound.push(`  - { name: deny-out-${i}, to: [${net('100.64', i)}, "${net6('c', i)}"], action: reject }`); break;
      case 'user': s.users.push(`  - { name: user-${i}, user: ${2000 + i}, outbound: reject, except: [{ to: [${net('10.2', i)}, "${net6('d', i)}"], port: ${p} }] }`); break;
      case 'limit': s.limits.push(`  - { name: limit-${i}, port: ${p}, rate: 20/second, burst: 40 }`); break;
      case 'redirect': s.redirects.push(`  - { name: redirect-${i}, port: ${p}, to-port: ${toPort(i)}, local: false, hide-target: false }`); break;
      case 'forward': s.forward.push(`  - { name: fwd-${i}, in: eth1, out: eth0, from: [${net('10.3', i)}, "${net6('e', i)}"], to: [${net('10.4', i)}, "${net6('f', i)}"], port: ${p} }`); break;
      case 'mark': s.marks.push(`  - { name: mark-${i}, proto: tcp, port: ${p}, to: [${net('10.5', i)}, "${net6('9', i)}"], mark: ${1 + (i % 200)} }`); break;
    }
  }
  const lines = ['version: 1', `defaults: { input: drop, forward: drop, output: accept${allowFirst ? '' : ', order: as-written'} }`, 'inbound:', '  - { name: ssh, port: 22 }', ...s.bans, ...s.inbound];
  for (const [key, list] of Object.entries(s)) if (list.length > 0 && key !== 'inbound' && key !== 'bans') lines.push(`${key}:`, ...list);
  return `${lines.join('\n')}\n`;
}

/** The same policy for ferm, written as an operator would write it there, rule for rule. */
export function operatorFerm(n) {
  const ban = [];
  const allow = [];
  const denyAfter = [];
  const out = [];
  const users = [];
  const limits = [];
  const nat = [];
  const redirected = [];
  const fwd = [];
  const mangle = [];
  for (let i = 0; i < n; i++) {
    const p = opPort(i);
    const both = (a, b) => `@ipfilter((${a} ${b}))`;
    switch (kindOf(i)) {
      case 'allowlist':
        allow.push(`    saddr ${both(net('10.1', i), net6('a', i))} proto tcp dport ${p} mod comment comment "allow-${i}" ACCEPT;`);
        denyAfter.push(`    proto tcp dport ${p} mod comment comment "allow-${i} (others)" REJECT;`);
        break;
      case 'ban': ban.push(`    saddr ${both(net('172.16', i), net6('b', i))} mod comment comment "ban-${i}" DROP;`); break;
      case 'open': allow.push(`    proto (tcp udp) dport ${p} mod comment comment "open-${i}" ACCEPT;`); break;
      case 'outbound-deny': out.push(`    daddr ${both(net('100.64', i), net6('c', i))} mod comment comment "deny-out-${i}" REJECT;`); break;
      case 'user':
        users.push(`    mod owner uid-owner ${2000 + i} mod conntrack ctstate NEW @subchain "ipf-user-${i}" {`, `      daddr ${both(net('10.2', i), net6('d', i))} proto tcp dport ${p} RETURN;`, `      mod comment comment "user-${i}" REJECT;`, '    }');
        break;
      case 'limit': limits.push(`    proto tcp dport ${p} mod conntrack ctstate NEW mod hashlimit hashlimit-above 20/second hashlimit-burst 40 hashlimit-mode srcip hashlimit-name limit-${i} mod comment comment "limit-${i}" DROP;`); break;
      case 'redirect':
        nat.push(`    proto tcp dport ${p} mod comment comment "redirect-${i}" REDIRECT to-ports ${toPort(i)};`);
        redirected.push(`    proto tcp dport ${toPort(i)} mod conntrack ctstate DNAT ctorigdstport ${p} mod comment comment "redirect-${i}" ACCEPT;`);
        break;
      case 'forward': fwd.push(`    interface eth1 outerface eth0 saddr ${both(net('10.3', i), net6('e', i))} daddr ${both(net('10.4', i), net6('f', i))} proto tcp dport ${p} mod comment comment "fwd-${i}" ACCEPT;`); break;
      case 'mark': mangle.push(`    daddr ${both(net('10.5', i), net6('9', i))} proto tcp dport ${p} mod comment comment "mark-${i}" MARK set-mark ${1 + (i % 200)};`); break;
    }
  }
  const established = ['    mod conntrack ctstate (ESTABLISHED RELATED) ACCEPT;', '    interface lo ACCEPT;'];
  return [
    'domain (ip ip6) {',
    '  table filter {',
    '  chain INPUT {', '    policy DROP;', ...established, ...limits, '    proto tcp dport 22 ACCEPT;', ...ban, ...allow, ...redirected, ...denyAfter, '  }',
    '  chain OUTPUT {', '    policy ACCEPT;', ...established, ...users, ...out, '  }',
    '  chain FORWARD {', '    policy DROP;', '    mod conntrack ctstate (ESTABLISHED RELATED) ACCEPT;', ...fwd, '  }',
    '  }',
    '  table nat { chain PREROUTING {', ...nat, '  } }',
    '  table mangle { chain PREROUTING {', ...mangle, '  } chain OUTPUT {', ...mangle, '  } }',
    '}',
    '',
  ].join('\n');
}
