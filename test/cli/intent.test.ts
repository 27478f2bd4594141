import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkoutFiles, runMain } from '../helpers/io.js';

const EXAMPLES = readdirSync('examples').filter((f) => f.endsWith('.yaml')).map((f) => join('examples', f));
const { dir: tmp, write } = checkoutFiles('ipfence-intent-');
const run = runMain;

describe('ipfence test', () => {
  it('passes every example, each of which carries its tests', async () => {
    for (const f of EXAMPLES) {
      const r = await run('test', f);
      expect(r.code, `${f}: ${r.stdout}`).toBe(0);
      expect(r.stdout).toMatch(/\d+ tests?: \d+ passed, 0 failed/);
      expect(r.stdout).not.toMatch(/^ {2}fail/m);
    }
  });

  it('fails at the test line, in every format, and compile writes nothing', async () => {
    const p = write('lockout.yaml', 'version: 1\ndefaults: { input: drop }\naddresses:\n  admins: [192.0.2.10, 2001:db8::/64]\ninbound:\n  - { name: ssh, port: 22, from: 192.0.2.10 }\ntests:\n  - { name: ssh works, from: admins, port: 22, expect: allow }\n  - { name: web closed, port: 80, expect: deny }\n');
    const r = await run('test', p);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('  fail  ssh works  8:5\n  pass  web closed  9:5');
    expect(r.stdout).toContain('2 tests: 1 passed, 1 failed');
    const json = JSON.parse((await run('test', p, '-f', 'json')).stdout) as { code: string; line: number; column?: number; col?: number }[];
    expect(json.filter((d) => d.code === 'test-failed').map((d) => d.line)).toEqual([8]);
    expect((await run('test', p, '-f', 'github')).stdout).toMatch(/^::error file=.*lockout\.yaml,line=8,col=5.*test 'ssh works' expects allow, but its IPv6 connections are rejected by 'ssh \(others\)'/m);
    const outDir = join(tmp, 'out');
    expect((await run('compile', p, '-o', outDir)).code).toBe(1);
    expect(() => readdirSync(outDir)).toThrow();
  });

  it('reports a mistake in a test at the test', async () => {
    const r = await run('check', write('bad.yaml', 'version: 1\ntests:\n  - { name: t, user: www-data, direction: in, port: 22, expect: allow }\n  - { name: u, from: nowhere, port: 22, expect: allow }\n'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/3:\d+ +error +only connections this host opens/);
    expect(r.stdout).toMatch(/4:\d+ +error .*nowhere.* +unknown-name/);
  });
});

describe('ipfence explain', () => {
  it('follows a packet through the redirect, with each rule and its policy line', async () => {
    const r = await run('explain', 'examples/port-redirect.yaml', 'tcp 203.0.113.5:40000 -> 192.0.2.1:8445 in eth0');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("IPFENCE-PREROUTING: 'tls-alt' (examples/port-redirect.yaml:8:5) REDIRECT to port 8443");
    expect(r.stdout).toContain('now to port 8443');
    expect(r.stdout).toMatch(/INPUT filter +INPUT: jump to IPFENCE-INPUT \(ipfence's hook\)\n +IPFENCE-INPUT: 'tls-alt \(redirected\)' \(examples\/port-redirect.yaml:8:5\) ACCEPT/);
    expect(r.stdout.trimEnd().split('\n').pop()).toBe("accepted by 'tls-alt (redirected)' (examples/port-redirect.yaml:8:5)");
    // The target port itself, straight: hidden.
    expect((await run('explain', 'examples/port-redirect.yaml', 'tcp 203.0.113.5 -> 192.0.2.1:8443 in eth0')).stdout).toMatch(/rejected by 'tls-alt \(hide target\)' \(examples\/port-redirect.yaml:8:5\)\n$/);
  });

  it("follows a user's outbound connection, and IPv6 in brackets", async () => {
    const out = await run('explain', 'examples/web-server.yaml', 'tcp 10.0.0.9 -> 198.51.100.7:443 user www-data out eth0');
    expect(out.stdout).toContain("ipf-user-1: 'app-egress' (examples/web-server.yaml:31:5) REJECT (tcp-reset)");
    const v6 = await run('explain', 'examples/web-server.yaml', 'tcp [2001:db8:a::5]:5000 -> [2001:db8::1]:22 in eth0', '-f', 'json');
    expect(JSON.parse(v6.stdout)).toMatchObject({ family: 'ipv6', direction: 'in', verdict: 'accept', decidedBy: { rule: 'ssh', location: 'examples/web-server.yaml:22:5' } });
  });

  it('refuses a packet it cannot read, saying how to write one', async () => {
    for (const spec of ['tcp 10.0.0.1 10.0.0.2:22', 'tcp 10.0.0.1 -> 2001:db8::1:22', 'tcp 10.0.0.1 -> 10.0.0.2', 'tcp 10.0.0.1 -> 10.0.0.2:22 sideways']) {
      const r = await run('explain', 'examples/web-server.yaml', spec);
      expect(r.code, spec).toBe(2);
      expect(r.stderr).toMatch(/explain: .*; write \[tcp\|udp\|sctp\|icmp\] SRC/);
    }
  });
});

describe('ipfence diff', () => {
  const mutated = (f: string): string => {
    const add = '  - { name: mutation, port: 4444, proto: udp, action: reject, from: 198.51.100.77 }\n';
    const text = readFileSync(f, 'utf8');
    return text.includes('\ninbound:\n') ? text.replace('\ninbound:\n', `\ninbound:\n${add}`) : text.replace('\nversion: 1\n', `\nversion: 1\ninbound:\n${add}`);
  };

  it('names exactly the mutation, for every example', async () => {
    for (const f of EXAMPLES) {
      const p = write(`mut-${f.replace(/\W/g, '_')}.yaml`, mutated(f));
      const line = readFileSync(p, 'utf8').split('\n').findIndex((l) => l.includes('name: mutation')) + 1;
      const r = await run('diff', f, p, '-f', 'json');
      expect(r.code, r.stdout).toBe(0);
      const rows = JSON.parse(r.stdout) as { change: string; traffic: string; direction: string; families: string[]; location: { line: number } }[];
      expect(rows, f).toHaveLength(1);
      // Established packets are accepted first; with drop-invalid, INVALID ones are dropped before filter.
      const states = readFileSync(f, 'utf8').includes('drop-invalid: true') ? 'state NEW,UNTRACKED' : 'packets outside established connections';
      expect(rows[0]).toMatchObject({ change: 'now rejected', traffic: `udp port 4444 from 198.51.100.77 in any except lo (${states})`, direction: 'in', families: ['ipv4'], location: { line, col: 5 } });
      expect((await run('diff', f, f)).stdout).toBe('no packet changes verdict\n');
    }
  });

  it('follows a redirect, and joins the families that read the same', async () => {
    const before = 'version: 1\ndefaults: { input: drop }\ninbound:\n  - { name: app, port: 8443 }\n';
    const after = `${before}redirects:\n  - { name: web, port: 80, to-port: 8443, local: false, hide-target: false }\n`;
    const r = await run('diff', write('r1.yaml', before), write('r2.yaml', after));
    // No inbound rule names port 80: the connections are allowed because they are redirected to 8443.
    expect(r.stdout).toBe(`now allowed: tcp port 80 in any except lo (new connections), to this host, IPv4 and IPv6 (was dropped) at ${join(tmp, 'r2.yaml')}:4:5\n`);
    const md = await run('diff', join(tmp, 'r1.yaml'), join(tmp, 'r2.yaml'), '-f', 'markdown');
    expect(md.stdout).toContain('| now allowed | tcp port 80 in any except lo (new connections) | to this host | IPv4 and IPv6 | dropped |');
  });

  it('sees a changed rule reach the connections a redirect brings to it', async () => {
    const before = 'version: 1\ndefaults: { input: drop }\ninbound:\n  - { name: app, port: 8443 }\nredirects:\n  - { name: web, port: 80, to-port: 8443, local: false, hide-target: false }\n';
    const after = before.replace('{ name: app, port: 8443 }', '{ name: app, port: 8443, from: 10.0.0.0/8 }');
    const r = await run('diff', write('s1.yaml', before), write('s2.yaml', after), '-f', 'json');
    const rows = JSON.parse(r.stdout) as { change: string; traffic: string; direction: string; families: string[] }[];
    // Port 80 is in no rule that changed: its connections are redirected onto one that did. That
    // includes connections through this host: REDIRECT delivers them here too.
    expect(rows.map((x) => `${x.change} ${x.traffic} ${x.direction} ${x.families.join('+')}`)).toEqual([
      'now rejected tcp port 80, 8443 from any except 10.0.0.0/8 in any except lo (new connections) in ipv4',
      'now rejected tcp port 8443 from any except 10.0.0.0/8 in any except lo (state INVALID,UNTRACKED) in ipv4',
      'now rejected tcp port 80 from any except 10.0.0.0/8 in any except lo (new connections) forward ipv4',
      'now rejected tcp port 80, 8443 in any except lo (new connections) in ipv6',
      'now rejected tcp port 8443 in any except lo (state INVALID,UNTRACKED) in ipv6',
      'now rejected tcp port 80 in any except lo (new connections) forward ipv6',
    ]);
  });

  it('--base REV reads the policy as committed', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'ipfence-git-'));
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.org', ...args], { cwd: repo });
    git('init', '-q');
    writeFileSync(join(repo, 'policy.yaml'), 'version: 1\ninbound:\n  - { name: ssh, port: 22, from: 192.0.2.10 }\n');
    git('add', '.');
    git('commit', '-qm', 'one');
    writeFileSync(join(repo, 'policy.yaml'), 'version: 1\ninbound:\n  - { name: ssh, port: 22, from: [192.0.2.10, 192.0.2.11] }\n');
    const out = execFileSync(process.execPath, [join(process.cwd(), 'bin/ipfence.cjs'), 'diff', '--base', 'HEAD', 'policy.yaml'], { cwd: repo, encoding: 'utf8' });
    expect(out).toBe('now allowed: tcp port 22 from 192.0.2.11 in any except lo (packets outside established connections), to this host, IPv4 (was rejected) at policy.yaml:3:5\n');
    const bad = await run('diff', '--base', '--upload-pack=x', 'policy.yaml');
    expect(bad.code).toBe(2);
  });
});

describe('ipfence show', () => {
  it('lists what is reachable per family: an IPv4-only allowlist closes the port in IPv6 too', async () => {
    const r = await run('show', 'examples/port-allowlist.yaml', '-f', 'json');
    type In = { otherwise: string; rows: { verdict: string; proto: string; ports: string | null; from: string | null }[] };
    const [v4, v6] = JSON.parse(r.stdout) as { family: string; in: In }[];
    expect(v4!.in.otherwise).toBe('allowed');
    expect(v4!.in.rows).toEqual([expect.objectContaining({ verdict: 'rejected', proto: 'tcp', ports: '6000', from: 'any except 192.168.10.80' })]);
    // No IPv6 source is listed, and no IPv6 source may connect.
    expect(v6!.in.rows).toEqual([expect.objectContaining({ verdict: 'rejected', proto: 'tcp', ports: '6000', from: null })]);
  });

  it('lists a port forward among the connections through this host, and MLD by its names', async () => {
    const r = await run('show', 'examples/router.yaml', '-f', 'json');
    type Rows = { rows: { verdict: string; proto: string | null; ports: string | null; to: string | null; in: string | null; icmp: string | null }[] };
    const [v4, v6] = JSON.parse(r.stdout) as { forward: Rows; in: Rows }[];
    // Only through the DNAT is 8080 anything but dropped: the FORWARD accept needs the translation.
    expect(v4!.forward.rows).toContainEqual(expect.objectContaining({ verdict: 'allowed', proto: 'tcp', ports: '8080', to: '203.0.113.1', in: 'eth0' }));
    expect(v4!.forward.rows.some((x) => x.ports === '80')).toBe(false);
    expect(v6!.in.rows).toContainEqual(expect.objectContaining({ verdict: 'allowed', icmp: 'mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report' }));
  });

  it('prints a table and markdown', async () => {
    const t = await run('show', 'examples/web-server.yaml');
    expect(t.stdout).toContain('  New connections to this host: dropped, except\n');
    expect(t.stdout).toMatch(/^ {4}allowed +tcp +22 +192\.0\.2\.10\/31 +any +any$/m);
    expect(t.stdout).toMatch(/^ {4}rejected +user www-data +tcp +any +any except 10\.0\.0\.5 +any$/m);
    const md = await run('show', 'examples/web-server.yaml', '-f', 'markdown');
    expect(md.stdout).toContain('## IPv6');
    expect(md.stdout).toContain('| allowed | tcp | 22 | 2001:db8:a::/64 | any | any |');
    expect((await run('compile', 'examples/web-server.yaml', '-f', 'markdown')).code).toBe(2);
  });

  it('says a cell of thousands of addresses in one bounded line that counts the rest and points at json, which lists each', async () => {
    // 3,000 banned hosts, no two adjacent (no CIDR block joins them): the open port is reachable
    // from "any except" all of them. Each such row listed every host, padded to the widest row.
    const bans = Array.from({ length: 3000 }, (_, i) => `  - { name: ban-${i}, from: ["10.9.${i >> 7}.${2 * (i & 127)}", "2001:db8:9::${(2 * i).toString(16)}"], action: drop }`);
    const p = write('bans.yaml', ['version: 1', 'defaults: { input: drop, order: as-written }', 'inbound:', ...bans, '  - { name: web, port: 443 }', ''].join('\n'));
    for (const format of ['stylish', 'markdown']) {
      const r = await run('show', p, '-f', format);
      expect(r.code).toBe(0);
      expect(Math.max(...r.stdout.split('\n').map((l) => l.length))).toBeLessThan(400);
      expect(r.stdout).toMatch(/allowed \|? *tcp \|? *443 \|? *any except 10\.9\.0\.0, 10\.9\.0\.2, [^\n]* \.\.\. and 2992 more \(--format json lists each\)/);
      expect(r.stdout).toMatch(/any except 2001:db8:9::, 2001:db8:9::2, [^\n]* \.\.\. and 2992 more \(--format json lists each\)/);
    }
    const json = JSON.parse((await run('show', p, '-f', 'json')).stdout) as { in: { rows: { ports: string | null; from: string | null }[] } }[];
    const from = json[0]!.in.rows.find((x) => x.ports === '443')!.from!;
    expect(from.split(', ')).toHaveLength(3000);
    expect(from).not.toContain('more');
  }, 120_000);

  it("says the widest blocks of an elided cell first: an allowed network among thousands of banned hosts is said, not hidden in the count", async () => {
    // The allow is of 10.0.0.0/8 minus 300 banned hosts: "any except" the blocks around 10.0.0.0/8
    // and the 300 hosts. In address order the first eight said were 0.0.0.0/5, 8.0.0.0/7 and six
    // banned hosts, and what bounds the allow (11.0.0.0/8 up to 128.0.0.0/1) was in the count.
    const bans = Array.from({ length: 300 }, (_, i) => `  - { name: ban-${i}, from: ["10.9.${i >> 7}.${2 * (i & 127)}"], action: drop }`);
    const p = write('widest.yaml', ['version: 1', 'defaults: { input: drop, order: as-written }', 'inbound:', ...bans, '  - { name: lan, port: 443, from: 10.0.0.0/8 }', ''].join('\n'));
    const r = await run('show', p);
    const row = r.stdout.split('\n').find((l) => / 443 /.test(l))!;
    expect(row).toContain('any except 0.0.0.0/5, 8.0.0.0/7, 11.0.0.0/8, 12.0.0.0/6, 16.0.0.0/4, 32.0.0.0/3, 64.0.0.0/2, 128.0.0.0/1 ... and 300 more (--format json lists each)');
    // Said in address order.
    const said = row.match(/\d+\.\d+\.\d+\.\d+\/\d+/g)!;
    const value = (a: string) => a.split('/')[0]!.split('.').reduce((v, o) => v * 256 + Number(o), 0);
    expect(said.map(value)).toEqual([...said.map(value)].sort((x, y) => x - y));
  });

  it('diff says a list of thousands of hosts as its first 8 and how many more, json each', async () => {
    // Banned hosts before a port that moves: "now dropped: port 80 from any except" every ban.
    const bans = Array.from({ length: 300 }, (_, i) => `  - { name: ban-${i}, from: "10.8.${i >> 7}.${2 * (i & 127)}", action: drop }`);
    const policy = (port: number) => ['version: 1', 'defaults: { input: drop, order: as-written }', 'inbound:', ...bans, `  - { name: web, port: ${port} }`, ''].join('\n');
    const a = write('diff-a.yaml', policy(80));
    const b = write('diff-b.yaml', policy(90));
    const r = await run('diff', a, b);
    expect(r.code).toBe(0);
    expect(Math.max(...r.stdout.split('\n').map((l) => l.length))).toBeLessThan(400);
    expect(r.stdout).toContain('now dropped: tcp port 80 from any except 10.8.0.0, 10.8.0.2, 10.8.0.4, 10.8.0.6, 10.8.0.8, 10.8.0.10, 10.8.0.12, 10.8.0.14 ... and 292 more (--format json lists each)');
    const json = JSON.parse((await run('diff', a, b, '-f', 'json')).stdout) as { change: string; traffic: string }[];
    const row = json.find((x) => x.change === 'now dropped' && x.traffic.includes('port 80 '))!;
    expect(row.traffic.match(/10\.8\.\d+\.\d+/g)).toHaveLength(300);
    expect(row.traffic).not.toContain('more');
  }, 120_000);

  it('diff stops with diff-too-large, in seconds, where one walk gathers too many pieces (it ran out of memory after minutes: no-context review)', async () => {
    // Outbound denies changed under 1,000 users and 1,000 local redirects, both families: each
    // redirect's port (and each gap between them) walked into every user's chain, 2,000 parts x
    // 1,000 users before the table's end was asked (4.3 GB, a crash after 3 minutes).
    const n = 1000;
    const lines = ['version: 1', 'defaults: { input: drop, output: accept, order: as-written }', 'inbound:', '  - { name: ssh, port: 22 }', 'users:'];
    for (let i = 0; i < n; i++) lines.push(`  - { name: u${i}, user: ${2000 + i}, outbound: reject, except: [{ to: [10.2.${i >> 8}.${i & 255}, "2001:db8:2::${i.toString(16)}"], port: ${1024 + i} }] }`);
    lines.push('outbound:');
    for (let i = 0; i < n; i++) lines.push(`  - { name: d${i}, to: [100.64.${i >> 8}.${i & 255}, "2001:db8:64::${i.toString(16)}"], action: reject }`);
    lines.push('redirects:');
    for (let i = 0; i < n; i++) lines.push(`  - { name: r${i}, port: ${30000 + i}, to-port: ${40000 + i}, local: true, hide-target: true }`);
    const a = write('walk-a.yaml', `${lines.join('\n')}\n`);
    const b = write('walk-b.yaml', `${lines.join('\n').replace(/action: reject \}/g, 'action: drop }')}\n`);
    const t = performance.now();
    const r = await run('diff', a, b);
    expect(r.code).toBe(2);
    const said = r.stdout + r.stderr;
    expect(said).toMatch(/error +diff cannot follow this change exactly: the packets asked about end in more than 50,000 pieces by chain OUTPUT.*diff-too-large/);
    expect(said).not.toMatch(/\n\s+at /);
    expect(performance.now() - t).toBeLessThan(40_000);
  }, 180_000);

  it('diff joins the families only where their rows read the same in full, not where they differ past the items said', async () => {
    const first = Array.from({ length: 8 }, (_, i) => 1000 + 2 * i);
    const v4 = [...first, ...Array.from({ length: 12 }, (_, i) => 2000 + 2 * i)];
    const v6 = [...first, ...Array.from({ length: 12 }, (_, i) => 3000 + 2 * i)];
    const a = write('fam-a.yaml', ['version: 1', 'defaults: { input: drop }', 'inbound:', '  - { name: ssh, port: 22 }', ''].join('\n'));
    const b = write('fam-b.yaml', ['version: 1', 'defaults: { input: drop }', 'inbound:', '  - { name: ssh, port: 22 }', `  - { name: v4, port: [${v4.join(', ')}], family: ipv4 }`, `  - { name: v6, port: [${v6.join(', ')}], family: ipv6 }`, ''].join('\n'));
    const rows = (await run('diff', a, b)).stdout.split('\n').filter((l) => l.startsWith('now allowed'));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain('port 1000, 1002, 1004, 1006, 1008, 1010, 1012, 1014 ... and 12 more (--format json lists each)');
    expect(rows.map((r) => / (IPv4|IPv6|IPv4 and IPv6) \(was/.exec(r)![1])).toEqual(['IPv4', 'IPv6']);
  });

  it("show asks the rules of the address a redirect really gives its connections (the primary one), not of the one they were sent to", async () => {
    const p = write('red-primary.yaml', ['version: 1', 'defaults: { input: accept }', 'host:', '  addresses: [192.0.2.7, 203.0.113.1]', 'redirects:', '  - { name: red, port: 8445, to-port: 8443, local-address: 203.0.113.1, local: false, hide-target: false }', 'inbound:', '  - { name: block-primary, port: 8443, to: 192.0.2.7, action: reject, family: ipv4 }', ''].join('\n'));
    const r = await run('show', p);
    expect(r.stdout).toMatch(/rejected if the incoming interface's primary address is 192\.0\.2\.7 +tcp +8445 +anywhere +203\.0\.113\.1/);
  });

  it('says a cell of many ports as its first 8 and how many more', async () => {
    const open = Array.from({ length: 20 }, (_, i) => `  - { name: open-${i}, port: ${1000 + 2 * i} }`);
    const p = write('ports.yaml', ['version: 1', 'defaults: { input: drop }', 'inbound:', ...open, ''].join('\n'));
    const r = await run('show', p);
    expect(r.stdout).toMatch(/^ {4}allowed +tcp +1000, 1002, 1004, 1006, 1008, 1010, 1012, 1014 \.\.\. and 12 more \(--format json lists each\) +any/m);
    const json = JSON.parse((await run('show', p, '-f', 'json')).stdout) as { in: { rows: { ports: string | null }[] } }[];
    expect(json[0]!.in.rows[0]!.ports!.split(', ')).toHaveLength(20);
  });
});

describe('explain and tests agree with the kernel (issue 34)', () => {
  it('sees a packet this host sends itself come back in on lo: a hidden redirect target refuses it there', async () => {
    // The kernel refuses it: the hide-target rule sits in INPUT, which a packet out on lo meets next.
    const r = await run('explain', 'examples/port-redirect.yaml', 'tcp 127.0.0.1 -> 127.0.0.1:8443 out lo');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/PREROUTING mangle/);
    expect(r.stdout.trimEnd().split('\n').pop()).toBe("rejected by 'tls-alt (hide target)' (examples/port-redirect.yaml:8:5)");
    // Through the redirect it is accepted: by the loopback accept (the port is 8443, the destination 127.0.0.1 now).
    const through = await run('explain', 'examples/port-redirect.yaml', 'tcp 127.0.0.1 -> 192.0.2.1:8445 out lo', '-f', 'json');
    expect(JSON.parse(through.stdout)).toMatchObject({ verdict: 'accept', decidedBy: { rule: 'ipfence: loopback' } });
    // IPv6 alike.
    expect((await run('explain', 'examples/port-redirect.yaml', 'tcp [::1]:40000 -> [::1]:8443 out lo')).stdout).toMatch(/^rejected by 'tls-alt \(hide target\)'/m);
    // A test of the same connection fails, saying what the kernel does.
    const policy = write('hidden-lo.yaml', `${readFileSync('examples/port-redirect.yaml', 'utf8')}  - { name: local target open, direction: out, interface: lo, port: 8443, expect: allow }\n  - { name: local target hidden, direction: out, interface: lo, port: 8443, expect: deny }\n  - { name: local alt works, direction: out, interface: lo, port: 8445, expect: allow }\n`);
    const t = await run('test', policy);
    expect(t.code, t.stdout).toBe(1);
    expect(t.stdout).toMatch(/^ {2}fail {2}local target open /m);
    expect(t.stdout).toMatch(/^ {2}pass {2}local target hidden /m);
    expect(t.stdout).toMatch(/^ {2}pass {2}local alt works /m);
  });

  it("reads the policy's interface aliases in a packet (`in wan` is `in eth0`), and refuses a name that is none of the policy's", async () => {
    const p = write('alias.yaml', 'version: 1\ninterfaces:\n  wan: eth0\n  lan: eth1\ndefaults: { input: drop }\ninbound:\n  - { name: ssh, port: 22, interface: wan }\n  - { name: web, port: 80, interface: eth+ }\n');
    const decided = async (spec: string) => JSON.parse((await run('explain', p, spec, '-f', 'json')).stdout) as { verdict: string; packet: { in?: string }; decidedBy: { rule: string } | null };
    // The kernel sees eth0 either way: the alias is only the policy's name for it.
    expect(await decided('tcp 203.0.113.5 -> 192.0.2.1:22 in wan')).toMatchObject({ verdict: 'accept', packet: { in: 'eth0' }, decidedBy: { rule: 'ssh' } });
    expect(await decided('tcp 203.0.113.5 -> 192.0.2.1:22 in eth0')).toMatchObject({ verdict: 'accept', decidedBy: { rule: 'ssh' } });
    expect(await decided('tcp 203.0.113.5 -> 192.0.2.1:22 in lan')).toMatchObject({ verdict: 'drop', packet: { in: 'eth1' } });
    // A name the rules match through a wildcard, and lo, are the policy's too.
    expect(await decided('tcp 203.0.113.5 -> 192.0.2.1:80 in eth7')).toMatchObject({ verdict: 'accept', decidedBy: { rule: 'web' } });
    expect(await decided('tcp 127.0.0.1 -> 127.0.0.1:22 in lo')).toMatchObject({ verdict: 'accept' });
    for (const [spec, guess] of [['tcp 203.0.113.5 -> 192.0.2.1:22 in wann', "did you mean 'wan'?"], ['tcp 10.0.0.1 -> 10.0.0.2:22 in eth1 out wam', "did you mean 'wan'?"], ['tcp 10.0.0.1 -> 10.0.0.2:22 in toString', '']] as const) {
      const r = await run('explain', p, spec);
      expect(r.code, spec).toBe(2);
      expect(r.stderr, spec).toContain(guess === '' ? "interface 'toString' is not one of this policy's:" : guess);
      expect(r.stderr).toContain('wan = eth0, lan = eth1');
    }
    // A policy without `interfaces:` names kernel interfaces as they are.
    expect((await run('explain', 'examples/port-allowlist.yaml', 'tcp 203.0.113.5 -> 192.0.2.1:22 in wg0')).code).toBe(0);
  });

  it('does not claim a verdict for a uid that the rules name by user name: it depends on which user the uid is on the host', async () => {
    // web-server.yaml rejects www-data's new connections (but to its database); uid 33 is www-data on Debian.
    const r = await run('explain', 'examples/web-server.yaml', 'tcp 10.0.0.9 -> 198.51.100.7:443 user 33 out eth0');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('the answer depends on which user uid 33 is, which only the host knows');
    expect(r.stdout).toMatch(/^if uid 33 is 'www-data':\n(?: {4}.*\n)+ {2}rejected by 'app-egress' \(examples\/web-server\.yaml:31:5\)\n/m);
    expect(r.stdout.trimEnd().split('\n').pop()).toBe("depends on which user uid 33 is: rejected if uid 33 is 'www-data'; accepted if uid 33 is none of 'www-data'");
    const json = JSON.parse((await run('explain', 'examples/web-server.yaml', 'tcp 10.0.0.9 -> 198.51.100.7:443 user 0033 out eth0', '-f', 'json')).stdout) as { verdict: string; cases: { assume: unknown[]; verdict: string }[] };
    expect(json.verdict).toBe('depends');
    expect(json.cases.map((c) => [c.assume, c.verdict])).toEqual([[[{ by: 'uid', id: '33', name: 'www-data' }], 'reject'], [[], 'accept']]);
    // Where every assumption ends alike, the answer is one: to the database, www-data's exception.
    const db = await run('explain', 'examples/web-server.yaml', 'tcp 10.0.0.9 -> 10.0.0.5:5432 user 33 out eth0');
    expect(db.stdout.trimEnd().split('\n').pop()).toBe('accepted by the default policy');
    // The other way round: a name, where the rules name numbers (1000-1010 and 1005).
    const p = write('uids.yaml', 'version: 1\nusers:\n  - { name: one, user: 1005, outbound: reject }\n  - { name: builders, user: 1000-1010, outbound: drop }\n');
    const named = await run('explain', p, 'tcp 10.0.0.9 -> 198.51.100.7:443 user deploy');
    expect(named.stdout.trimEnd().split('\n').pop()).toBe("depends on which uid 'deploy' has: dropped if 'deploy' is uid 1000-1004; rejected if 'deploy' is uid 1005; dropped if 'deploy' is uid 1006-1010; accepted if 'deploy' is no uid the rules name (1000-1004, 1005, 1006-1010)");
    // A name the rules name themselves, with no numbers in them: as it was.
    expect((await run('explain', 'examples/web-server.yaml', 'tcp 10.0.0.9 -> 198.51.100.7:443 user www-data out eth0')).stdout).toMatch(/\nrejected by 'app-egress'/);
  });

  it('passes a test of a numeric user only if it holds whichever user that uid is on the host', async () => {
    const base = readFileSync('examples/web-server.yaml', 'utf8');
    const p = write('uid-tests.yaml', `${base}  - { name: uid 33 reaches the world, user: 33, to: 198.51.100.7, port: 443, expect: allow }\n  - { name: uid 33 is blocked, user: 33, to: 198.51.100.7, port: 443, expect: deny }\n  - { name: uid 33 reaches the database, user: 33, to: database, port: 5432, expect: allow }\n  - { name: range reaches the world, user: 30-40, to: 198.51.100.7, port: 443, expect: allow }\n`);
    const r = await run('test', p);
    expect(r.code).toBe(1);
    // Accepted unless uid 33 is www-data, refused if it is: neither answer holds for sure.
    expect(r.stdout).toMatch(/^ {2}fail {2}uid 33 reaches the world /m);
    expect(r.stdout).toMatch(/^ {2}fail {2}uid 33 is blocked /m);
    expect(r.stdout).toMatch(/^ {2}pass {2}uid 33 reaches the database /m);
    expect(r.stdout).toMatch(/^ {2}fail {2}range reaches the world /m);
    expect(r.stdout).toMatch(/test 'uid 33 reaches the world' expects allow, but .*rejected by 'app-egress'/);
    // By name, as the rules say it, the examples' own tests pass as before.
    expect(r.stdout).toMatch(/^ {2}pass {2}app opens nothing else /m);
  });

  it('never takes a name from JavaScript\'s object model for a protocol, ICMP type, state or owner', async () => {
    for (const word of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf']) {
      for (const spec of [`icmp 10.0.0.1 -> 10.0.0.2 ${word}`, `${word} 10.0.0.1 -> 10.0.0.2:22`, `tcp 10.0.0.1 -> 10.0.0.2:22 state ${word}`, `tcp 10.0.0.1 -> 10.0.0.2:22 ${word} x`]) {
        const r = await run('explain', 'examples/web-server.yaml', spec);
        expect(r.code, spec).toBe(2);
        expect(r.stderr, spec).toMatch(/^ipfence: explain: .*; write \[tcp/);
      }
    }
  });
});

describe('show says what happens to connections another hook, a translation or notrack decides (no-context review)', () => {
  const section = (out: string, title: string): string => {
    const from = out.indexOf(title);
    return out.slice(from, out.indexOf('\n  New connections', from + 1) === -1 ? undefined : out.indexOf('\n  New connections', from + 1));
  };

  it("lists a port forward's connections to this host's own address, decided by FORWARD's rules (it said INPUT's policy: rejected)", async () => {
    const r = await run('show', 'examples/router.yaml');
    const v4 = r.stdout.slice(0, r.stdout.indexOf('IPv6'));
    expect(section(v4, 'New connections to this host')).toMatch(/^ {4}allowed \(port-forwarded\) +tcp +8080 +anywhere +203\.0\.113\.1 +eth0$/m);
    expect(section(v4, 'New connections to this host')).toMatch(/^ {4}allowed \(port-forwarded\) +tcp +8080 +10\.1\.0\.0\/24 +203\.0\.113\.1 +br-lan$/m);
  });

  it("lists forwarded traffic a redirect delivers to this host, decided by INPUT's rules (it said FORWARD's policy: dropped)", async () => {
    const p = write('fwd-redirect.yaml', ['version: 1', 'interfaces: { wan: eth0, lan: eth1 }', 'defaults: { input: accept, forward: drop }', 'redirects:', '  - { name: proxy, port: 80, to-port: 3128, interface: lan, local: false, hide-target: false }', 'inbound:', '  - { name: no proxy for the wan, port: 3128, interface: wan, action: reject }', ''].join('\n'));
    const through = section((await run('show', p)).stdout, 'New connections through this host');
    expect(through).toMatch(/^New connections through this host: dropped, except$/m);
    // Delivered here, they go out nowhere.
    expect(through).toMatch(/^ {4}allowed \(redirected to this host\) +tcp +80 +anywhere +anywhere +eth1 +-$/m);
  });

  it('lists loopback where it is not all accepted: a hidden redirect target refuses this host its own connections', async () => {
    const out = section((await run('show', 'examples/port-redirect.yaml')).stdout, 'New connections from this host');
    expect(out).toMatch(/^New connections from this host: allowed, except$/m);
    expect(out).toMatch(/^ {4}rejected +anyone +tcp +8443 +anywhere +lo$/m);
    // With no loopback accept at all (established: false) and a drop policy, what lo may do is
    // listed, under "from this host" only (OUTPUT decides first, and nat in PREROUTING never: a
    // redirect there does not take this host's own connections).
    const p = write('no-lo.yaml', 'version: 1\ndefaults: { input: drop, established: false }\ninbound:\n  - { name: ssh, port: 22 }\nredirects:\n  - { name: r, port: 8445, to-port: 22 }\n');
    const shown = (await run('show', p)).stdout;
    expect(section(shown, 'New connections from this host')).toMatch(/^ {4}dropped +anyone +tcp +any except 22 +anywhere +lo$/m);
    expect(section(shown, 'New connections to this host')).not.toMatch(/\blo\b/);
    // Where lo is all accepted (the preamble's accept), it is left out as before.
    expect((await run('show', 'examples/web-server.yaml')).stdout).not.toMatch(/\blo\b/);
  });

  it("says what a row holds that its columns do not: a notrack rule's replies, neighbour discovery's hop limit", async () => {
    const p = write('nt-replies.yaml', 'version: 1\ndefaults: { output: drop }\nnotrack:\n  - { port: 8125, proto: udp, to: "2001:db8::/32" }\n');
    const out = (await run('show', p)).stdout;
    const v6 = section(out.slice(out.indexOf('IPv6')), 'New connections from this host');
    expect(v6).toMatch(/^ {4}allowed +anyone +udp +any +anywhere +any +from 2001:db8::\/32, source port 8125$/m);
    expect(v6).toMatch(/^ {4}allowed +anyone +icmp +router-solicitation, .* +hop limit 255$/m);
    expect(v6).toMatch(/^ {4}allowed +anyone +icmp +mld-listener-query, .* +hop limit 1$/m);
    // JSON gives the field on every row.
    const json = JSON.parse((await run('show', p, '-f', 'json')).stdout) as { family: string; out: { rows: { hoplimit: string | null; sports: string | null }[] } }[];
    expect(json.find((f) => f.family === 'ipv6')!.out.rows.map((r) => r.hoplimit)).toEqual([null, '255', '1', null]);
  });

  it("explain asks at a hop limit given ('hoplimit N'), and says when the policy's rules ask another than the 64 it assumes", async () => {
    const rs = 'icmp [fe80::1] -> [ff02::2] router-solicitation in eth0';
    const at64 = await run('explain', 'examples/router.yaml', rs);
    expect(at64.stdout).toContain("(at hop limit 64; at another the verdict differs: add 'hoplimit N' to ask at N)");
    // Only where it does: a router solicitation this host sends meets no hop-limit rule on its way out.
    expect((await run('explain', 'examples/router.yaml', 'icmp [2001:db8::1] -> [ff02::2] router-solicitation out eth0')).stdout).not.toContain('hop limit');
    expect((await run('explain', 'examples/router.yaml', 'tcp 192.0.2.9:4 -> 192.0.2.1:22 hoplimit 3')).stderr).toContain("hoplimit is IPv6's");
    expect(at64.stdout.trimEnd().split('\n').pop()).toBe('dropped by the default policy');
    expect((await run('explain', 'examples/router.yaml', `${rs} hoplimit 255`)).stdout.trimEnd().split('\n').pop()).toMatch(/^accepted by 'ipfence: router-solicitation'/);
    expect((await run('explain', 'examples/router.yaml', 'tcp [fe80::1]:4 -> [ff02::2]:22 in eth0')).stdout).not.toContain('hop limit');
    // A test says it as `hop-limit` (without it, a test of neighbour discovery fails: other hop limits are dropped).
    const t = write('rs-tests.yaml', 'version: 1\ndefaults: { input: drop }\ninbound:\n  - { name: ssh, port: 22 }\ntests:\n  - { name: rs, proto: icmp, icmp-type: router-solicitation, family: ipv6, hop-limit: 255, expect: allow }\n  - { name: rs any, proto: icmp, icmp-type: router-solicitation, family: ipv6, expect: allow }\n');
    const tested = await run('test', t);
    expect(tested.stdout).toMatch(/^ {2}pass {2}rs {2}6:5$/m);
    expect(tested.stdout).toMatch(/test 'rs any' expects allow, but IPv6 connections hop limit 0-254 are dropped by the default policy/);
    const bad = await run('explain', 'examples/router.yaml', `${rs} hoplimit 256`);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("hoplimit is a number from 0 to 255, not '256'");
  });
});

describe('the primary-address clause names one interface, or none', () => {
  it("says 'the incoming interface's primary address' where the row's interface is a list or 'any except lo' (it read \"any except lo's primary address\")", async () => {
    const a = write('pc-a.yaml', 'version: 1\ndefaults: { input: accept }\nhost:\n  addresses: [192.0.2.7, 203.0.113.1]\nredirects:\n  - { name: red, port: 8445, to-port: 8443, local: false, hide-target: false }\n');
    const b = write('pc-b.yaml', `${readFileSync(a, 'utf8')}inbound:\n  - { name: block-primary, port: 8443, to: 192.0.2.7, action: reject, family: ipv4 }\n`);
    const out = (await run('diff', a, b)).stdout;
    expect(out).toContain("now rejected: tcp port 8445 in any except lo (new connections) if the incoming interface's primary address is 192.0.2.7, to this host, IPv4 (was allowed)");
    expect(out).not.toContain("lo's primary");
  });
});

describe("a connection on lo is this host's own: OUTPUT decides first, nat in PREROUTING never (second no-context review)", () => {
  const e1 = () => write('lo-e1.yaml', 'version: 1\ndefaults: { input: drop, output: drop, established: false }\ninbound:\n  - { name: ssh, port: 22 }\noutbound:\n  - { name: web, port: 443 }\n');
  const last = (out: string) => out.trimEnd().split('\n').pop();

  it('explain walks a packet in on lo from OUTPUT, where a redirect or port forward in PREROUTING never takes it (the kernel: dropped)', async () => {
    const red = write('lo-red.yaml', 'version: 1\ndefaults: { input: drop, established: false }\ninbound:\n  - { name: ssh, port: 22 }\nredirects:\n  - { name: r, port: 8445, to-port: 8443 }\n');
    const r = await run('explain', red, 'tcp 127.0.0.1:40000 -> 127.0.0.1:8445 in lo');
    expect(r.stdout).toMatch(/^ {2}OUTPUT filter/m);
    expect(r.stdout).not.toMatch(/REDIRECT/);
    expect(last(r.stdout)).toBe('dropped by the default policy');
    const fwd = write('lo-fwd.yaml', 'version: 1\nhost: { addresses: [192.0.2.1] }\ndefaults: { input: drop, forward: drop, established: false }\ninbound:\n  - { name: ssh, port: 22 }\nforwards:\n  - { name: web, port: 8080, to: 10.1.0.10, to-port: 80, local-address: 192.0.2.1 }\n');
    expect(last((await run('explain', fwd, 'tcp 192.0.2.1:40000 -> 192.0.2.1:8080 in lo')).stdout)).toBe('dropped by the default policy');
    // OUTPUT's drop policy refuses it before INPUT's ssh accept is met.
    expect(last((await run('explain', e1(), 'tcp 127.0.0.1:40000 -> 127.0.0.1:22 in lo')).stdout)).toBe('dropped by the default policy');
  });

  it('judges a packet back in on lo by the source SNAT or MASQUERADE gave it on the way out (third review; the kernel accepts it)', async () => {
    const snat = write('lo-snat.yaml', 'version: 1\nhost: { addresses: [10.1.0.1] }\ndefaults: { input: drop, established: false }\ninbound:\n  - { name: ssh, port: 22 }\n  - { name: dns, port: 53, from: 10.1.0.0/24 }\nsnat:\n  - { name: lo-snat, out: lo, to-source: 10.1.0.1, family: ipv4 }\n');
    expect(last((await run('explain', snat, 'tcp 127.0.0.1:1 -> 127.0.0.1:53 in lo')).stdout)).toMatch(/^accepted by 'dns'/);
    expect(last((await run('explain', snat, 'tcp 127.0.0.1:1 -> 127.0.0.1:53 out lo')).stdout)).toMatch(/^accepted by 'dns'/);
    // MASQUERADE takes the address lo's route gives: the local address the packet was sent to.
    const masq = write('lo-masq.yaml', readFileSync(snat, 'utf8').replace('snat:\n  - { name: lo-snat, out: lo, to-source: 10.1.0.1, family: ipv4 }', 'masquerade:\n  - { name: lo-masq, out: lo, family: ipv4 }'));
    expect(last((await run('explain', masq, 'tcp 10.1.0.1:1 -> 10.1.0.1:53 out lo')).stdout)).toMatch(/^accepted by 'dns'/);
    expect(last((await run('explain', masq, 'tcp 127.0.0.1:1 -> 127.0.0.1:53 out lo')).stdout)).toMatch(/^rejected by 'dns \(others\)'/);
  });

  it("explain walks this host's own connection to itself out lo and back: in lo with a user, or to a loopback address (third review; the kernel drops it)", async () => {
    const p = write('lo-user.yaml', 'version: 1\ndefaults: { input: drop, established: false }\ninbound:\n  - { name: ssh, port: 22 }\n');
    for (const spec of ['tcp 127.0.0.1:1 -> 127.0.0.1:9999 in lo user 1000', 'tcp 127.0.0.1:1 -> 127.0.0.1:9999 user 1000', 'tcp [::1]:1 -> [::1]:9999 user 1000']) {
      const r = await run('explain', p, spec);
      expect(r.stdout, spec).toMatch(/^ {2}INPUT filter/m);
      expect(last(r.stdout), spec).toBe('dropped by the default policy');
    }
  });

  it('a failing test names the default policy of the hook that refused it: OUTPUT for a connection on lo (third review)', async () => {
    const p = write('lo-blame.yaml', 'version: 1\ndefaults: { input: accept, output: drop, established: false }\noutbound:\n  - { name: web out, port: 443 }\ntests:\n  - { name: lo in, port: 9999, to: 127.0.0.1, interface: lo, expect: allow }\n');
    expect((await run('test', p)).stdout).toContain("test 'lo in' expects allow, but its IPv4 connections are dropped by the default policy (`defaults.output`)");
    // hop-limit is IPv6's: an IPv4-only test with it is refused, as explain refuses it.
    const h = write('hop4.yaml', 'version: 1\ntests:\n  - { name: t, to: 10.0.0.1, port: 22, hop-limit: 3, expect: allow }\n');
    expect((await run('check', h)).stdout).toMatch(/3:51 +error +hop-limit is IPv6's, and this test is of IPv4 only: remove it/);
  });

  it("blames a drop on the policy that made it, not on an accept met before it (it said \"dropped by 'web'\")", async () => {
    const r = await run('explain', e1(), 'tcp 127.0.0.1:40000 -> 127.0.0.1:443 out lo', '-f', 'json');
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'drop', decidedBy: null });
  });

  it("show names both a row's user and its group (the group was left out of the table)", async () => {
    const p = write('user-group.yaml', 'version: 1\ndefaults: { output: drop }\noutbound:\n  - { name: web, port: 443 }\nusers:\n  - { name: u, user: 1001, outbound: reject, except: [{ to: 10.0.0.0/8 }] }\n  - { name: g, group: 2000, outbound: drop }\n');
    const out = section((await run('show', p)).stdout, 'New connections from this host');
    expect(out).toMatch(/^ {4}allowed +any user except 1001, any group except 2000 +tcp +443 +anywhere +any$/m);
  });

  it("says loopback is not listed where it splits past the walk's bound (show refused the whole policy)", async () => {
    const { operatorPolicy } = (await import('../../bench/generate.mjs' as string)) as { operatorPolicy: (n: number) => string };
    const p = write('op-est.yaml', operatorPolicy(3000).replace(/^defaults: \{/m, 'defaults: { established: false,'));
    expect(readFileSync(p, 'utf8')).toMatch(/established: false/);
    const r = await run('show', p);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("(not listed: this host's connections to itself (out lo) are not all accepted, and split into too many pieces to list here");
    expect(r.stdout).toMatch(/New connections through this host/);
  }, 120_000);
});

function section(out: string, title: string): string {
  const from = out.indexOf(title);
  const end = out.indexOf('\n  New connections', from + 1);
  return out.slice(from, end === -1 ? undefined : end);
}
