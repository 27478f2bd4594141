import { describe, expect, it } from 'vitest';
import { checkoutFiles, runMain } from '../helpers/io.js';

/**
 * A redirect in PREROUTING sends a connection to its incoming interface's primary address (the
 * kernel's nf_nat_redirect; test/kernel/redirect-primary.test.ts proves it in the lab), which
 * only the host knows. A rule after the redirect that looks at the destination (here: reject the
 * target port at 192.0.2.7) then decides by that address, not by the one the client used.
 */
const { write } = checkoutFiles('ipfence-explain-redirect-');
const run = runMain;

const RULES = `defaults: { input: drop }
inbound:
  - { name: not at 7, port: 8443, to: [192.0.2.7, "2001:db8::7"], action: reject }
redirects:
  - { name: alt, port: 8445, to-port: 8443, interface: eth0, local: false, hide-target: false }
`;

describe("explain and intent tests of a connection redirected to its interface's primary address", () => {
  it('says the answer depends on which address is the primary one, in text and JSON, where a rule after the redirect looks at the destination', async () => {
    const p = write('open.yaml', `version: 1\n${RULES}`);
    for (const dst of ['192.0.2.7', '198.51.100.3', '192.0.2.1']) {
      const r = await run('explain', p, `tcp 192.0.2.2:40000 -> ${dst}:8445 in eth0`);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("the answer depends on which address is eth0's primary address (where REDIRECT sends it), which only the host knows (a rule after the redirect looks at the destination):");
      // Whatever the client sent it to (a secondary address, a host routed through this one): the primary address decides.
      expect(r.stdout.trimEnd().split('\n').pop(), dst).toBe("depends on which address is eth0's primary address (where REDIRECT sends it): rejected if eth0's primary address is 192.0.2.7; accepted if eth0's primary address is any address except 192.0.2.7");
    }
    const json = JSON.parse((await run('explain', p, 'tcp [2001:db8::9]:40000 -> [2001:db8::5]:8445 in eth0', '-f', 'json')).stdout) as { verdict: string; cases: { primary: string; verdict: string }[] };
    expect(json.verdict).toBe('depends');
    expect(json.cases.map((c) => [c.primary, c.verdict])).toEqual([
      ['2001:db8::7', 'reject'],
      ['any address except 2001:db8::7', 'accept'],
    ]);
    // Not redirected (the target port asked directly): one answer, as before.
    const direct = await run('explain', p, 'tcp 192.0.2.2:40000 -> 192.0.2.7:8443 in eth0');
    expect(direct.stdout).not.toContain('depends');
    expect(direct.stdout.trimEnd().split('\n').pop()).toBe(`rejected by 'not at 7' (${p}:4:5)`);
  });

  it("with host.addresses the cases are this host's addresses, and with one address per family there is one answer", async () => {
    const two = write('two.yaml', `version: 1\nhost: { addresses: [192.0.2.1, 192.0.2.7] }\n${RULES}`);
    expect((await run('explain', two, 'tcp 192.0.2.2:40000 -> 198.51.100.3:8445 in eth0')).stdout.trimEnd().split('\n').pop()).toBe("depends on which address is eth0's primary address (where REDIRECT sends it): rejected if eth0's primary address is 192.0.2.7; accepted if eth0's primary address is 192.0.2.1");
    const one = write('one.yaml', `version: 1\nhost: { addresses: [192.0.2.1, "2001:db8::1"] }\n${RULES}`);
    // The kernel sends it to 192.0.2.1, the only address there is: the reject of 192.0.2.7 never sees it.
    const r = await run('explain', one, 'tcp 192.0.2.2:40000 -> 192.0.2.7:8445 in eth0');
    expect(r.stdout).not.toContain('depends');
    expect(r.stdout.trimEnd().split('\n').pop()).toMatch(/^accepted by 'alt \(redirected\)'/);
  });

  it('an intent test must hold whichever address is primary', async () => {
    const p = write('tests.yaml', `version: 1\n${RULES}tests:
  - { name: at 7 refused, to: 192.0.2.7, port: 8445, interface: eth0, expect: reject }
  - { name: routed through accepted, to: 198.51.100.3, port: 8445, interface: eth0, expect: allow }
  - { name: direct at 7 refused, to: 192.0.2.7, port: 8443, interface: eth0, expect: reject }
`);
    const r = await run('test', p);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('  fail  at 7 refused  8:5\n  fail  routed through accepted  9:5\n  pass  direct at 7 refused  10:5');
    // The failure says under which primary address it fails.
    expect(r.stdout).toContain("test 'routed through accepted' expects allow, but its IPv4 connections are rejected by 'not at 7'");
    expect(r.stdout).toMatch(/rejected by 'not at 7' \(\S+:4:5\) if the primary address of the interface they come in by \(where a redirect sends them\) is 192\.0\.2\.7 /);
    // One address per family: one answer, and the kernel's.
    const one = write('tests-one.yaml', `version: 1\nhost: { addresses: [192.0.2.1, "2001:db8::1"] }\n${RULES}tests:
  - { name: at 7 accepted, to: 192.0.2.7, port: 8445, interface: eth0, expect: allow }
  - { name: routed through accepted, to: 198.51.100.3, port: 8445, interface: eth0, expect: allow }
`);
    const ok = await run('test', one);
    expect(ok.stdout).toContain('2 tests: 2 passed, 0 failed');
    expect(ok.code).toBe(0);
  });

  it('tells the first few cases in full and counts the rest, where a rule per address makes hundreds', async () => {
    const rules = Array.from({ length: 300 }, (_, i) => `  - { name: r${i}, port: 8443, to: [10.0.${i >> 8}.${i & 255}], action: ${i % 2 ? 'reject' : 'allow'} }`);
    const p = write('many.yaml', `version: 1\ndefaults: { input: drop, order: as-written }\ninbound:\n${rules.join('\n')}\nredirects:\n  - { name: alt, port: 8445, to-port: 8443, interface: eth0, local: false, hide-target: false }\n`);
    const r = await run('explain', p, 'tcp 192.0.2.2:40000 -> 198.51.100.3:8445 in eth0');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^if eth0's primary address is /gm)).toHaveLength(8);
    // 300 rules, and every other address: 301 cases.
    expect(r.stdout).toContain('and 293 more cases (--format json lists each): ');
    expect(r.stdout.split('\n').length).toBeLessThan(120);
    const json = JSON.parse((await run('explain', p, 'tcp 192.0.2.2:40000 -> 198.51.100.3:8445 in eth0', '-f', 'json')).stdout) as { cases: { primary: string; verdict: string; decidedBy: { rule: string } | null }[] };
    expect(json.cases).toHaveLength(301);
    expect(json.cases.find((c) => c.primary === '10.0.0.7')).toMatchObject({ verdict: 'reject', decidedBy: { rule: 'r7' } });
  });

  it("show says under which primary address a redirected port's row holds, instead of two rows of one port that contradict each other", async () => {
    const p = write('show.yaml', `version: 1\n${RULES}`);
    const r = await run('show', p);
    expect(r.code).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => /\b8445\b/.test(l)).map((l) => l.trim().replace(/ {2,}/g, ' | '));
    expect(rows).toEqual([
      "rejected if eth0's primary address is 192.0.2.7 | tcp | 8445 | anywhere | any | eth0",
      "allowed if eth0's primary address is any address except 192.0.2.7 | tcp | 8445 | anywhere | any | eth0",
      // Forwarded connections to 8445 in eth0 are redirected to this host too, and meet INPUT's rules
      // (listed whatever their verdict: they do not go where they were sent).
      "rejected (redirected to this host) if eth0's primary address is 192.0.2.7 | tcp | 8445 | anywhere | anywhere | eth0 | -",
      "allowed (redirected to this host) if eth0's primary address is any address except 192.0.2.7 | tcp | 8445 | anywhere | anywhere | eth0 | -",
      "rejected if eth0's primary address is 2001:db8::7 | tcp | 8445 | anywhere | any | eth0",
      "allowed if eth0's primary address is any address except 2001:db8::7 | tcp | 8445 | anywhere | any | eth0",
      "rejected (redirected to this host) if eth0's primary address is 2001:db8::7 | tcp | 8445 | anywhere | anywhere | eth0 | -",
      "allowed (redirected to this host) if eth0's primary address is any address except 2001:db8::7 | tcp | 8445 | anywhere | anywhere | eth0 | -",
    ]);
    // The port asked directly has no assumption; json gives the field only where a row has one.
    expect(r.stdout).toMatch(/^ {4}rejected {2,}tcp {2,}8443 /m);
    const json = JSON.parse((await run('show', p, '-f', 'json')).stdout) as { family: string; in: { rows: { verdict: string; ports: string; primary?: string }[] } }[];
    expect(json[0]!.in.rows.map((x) => [x.verdict, x.ports, x.primary])).toEqual([
      ['rejected', '8443', undefined],
      ['rejected', '8445', '192.0.2.7'],
      ['allowed', '8445', 'any address except 192.0.2.7'],
    ]);
    // With one address per family the kernel has one answer, and so has show.
    const one = write('show-one.yaml', `version: 1\nhost: { addresses: [192.0.2.1, "2001:db8::1"] }\n${RULES}`);
    const o = await run('show', one);
    expect(o.stdout).not.toContain('primary');
    expect(o.stdout).toMatch(/^ {4}allowed {2,}tcp {2,}8445 /m);
  });
});
