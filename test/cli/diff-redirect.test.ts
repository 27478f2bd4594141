import { describe, expect, it } from 'vitest';
import { checkoutFiles, runMain } from '../helpers/io.js';

/**
 * diff of adding a redirect whose target port a rule refuses at one address: a connection
 * redirected in PREROUTING reaches the incoming interface's primary address (the kernel's
 * nf_nat_redirect), so its fate depends on which address that is, and only connections can be
 * redirected (a packet of no connection, INVALID or UNTRACKED, never matches `--ctstate DNAT`).
 */
const { write } = checkoutFiles('ipfence-diff-redirect-');
async function diff(a: string, b: string) {
  const { code, stdout } = await runMain('diff', a, b);
  return { code, lines: stdout.trimEnd().split('\n') };
}

const BEFORE = `version: 1
defaults: { input: drop }
inbound:
  - { name: not at 7, port: 8443, to: [192.0.2.7, "2001:db8::7"], action: reject }
`;
const REDIRECT = `redirects:
  - { name: alt, port: 8445, to-port: 8443, interface: eth0, local: false, hide-target: false }
`;

describe('diff of a redirect', () => {
  it("says under which primary address each change holds, instead of one port 'now rejected' and 'now allowed'", async () => {
    const before = write('before.yaml', BEFORE);
    const after = write('after.yaml', `${BEFORE}${REDIRECT}`);
    const r = await diff(before, after);
    expect(r.code).toBe(0);
    const v4 = r.lines.filter((l) => l.includes('IPv4')).map((l) => l.replace(/ at \S+$/, ''));
    expect(v4).toEqual([
      "now rejected: tcp port 8445 in eth0 (new connections) if eth0's primary address is 192.0.2.7, to this host, IPv4 (was dropped)",
      "now allowed: tcp port 8445 in eth0 (new connections) if eth0's primary address is any address except 192.0.2.7, to this host, IPv4 (was dropped)",
      "now rejected: tcp port 8445 in eth0 (new connections) if eth0's primary address is 192.0.2.7, forwarded, IPv4 (was allowed)",
    ]);
  });

  it('with one address per family in host.addresses there is one answer, and no assumption is said', async () => {
    const host = 'host: { addresses: [192.0.2.1, "2001:db8::1"] }\n';
    const before = write('before-host.yaml', BEFORE.replace('version: 1\n', `version: 1\n${host}`));
    const after = write('after-host.yaml', `${BEFORE.replace('version: 1\n', `version: 1\n${host}`)}${REDIRECT}`);
    const r = await diff(before, after);
    expect(r.lines.map((l) => l.replace(/ at \S+$/, ''))).toEqual(['now allowed: tcp port 8445 in eth0 (new connections), to this host, IPv4 and IPv6 (was dropped)']);
  });

  it('never takes a packet of no connection (INVALID, UNTRACKED) for a redirected one', async () => {
    const before = write('before-state.yaml', BEFORE);
    const after = write('after-state.yaml', `${BEFORE}${REDIRECT}`);
    const r = await diff(before, after);
    expect(r.lines.filter((l) => /INVALID|UNTRACKED/.test(l))).toEqual([]);
    expect(r.lines.filter((l) => /port 8443/.test(l))).toEqual([]);
  });
});
