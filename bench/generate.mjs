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
