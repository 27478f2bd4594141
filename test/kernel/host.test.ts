import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Artifact } from '../../src/emit/emit.js';
import { compile, type CompileOptions } from '../../src/pipeline.js';
import { kernelLab, type XtablesVariant } from '../../src/verify/netns.js';
import { dockerHost } from '../helpers/docker-host.js';
import { addr, withLab, type Family, type Host, type Lab } from '../helpers/lab.js';

/**
 * The host side as an operator meets it over years: policy after policy applied with the
 * generated apply.sh inside the lab's server namespace, and what the kernel then holds and does
 * with real traffic. Each case is one of the ways a host was left with holes or half changed.
 */
const lab = kernelLab();
const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
const C1 = { ipv4: '192.0.2.2', ipv6: '2001:db8:99::2' };
const C2 = { ipv4: '192.0.2.3', ipv6: '2001:db8:99::3' };
const TOOL = { ipv4: 'iptables', ipv6: 'ip6tables' } as const;

function build(policy: string, options: CompileOptions = {}): readonly Artifact[] {
  const r = compile(policy, 'host.yaml', 'host.yaml', options);
  if (!r.artifacts) throw new Error(`policy does not compile:\n${r.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`).join('\n')}`);
  return r.artifacts;
}

/**
 * What iptables-save holds (every table), without its comments and counters, tables sorted by
 * name: the legacy back end lists them in the order the namespace first used them.
 */
function saved(l: Lab, backend: XtablesVariant, f: Family, h: Host = l.server): string {
  const lines = h.ns.save(backend, f).split('\n').filter((x) => x !== '' && !x.startsWith('#')).map((x) => x.replace(/ \[\d+:\d+\]$/, ''));
  const tables = lines.join('\n').split(/\n(?=\*)/);
  return tables.sort().join('\n');
}
const bothSaved = (l: Lab, backend: XtablesVariant, h: Host = l.server) => ({ ipv4: saved(l, backend, 'ipv4', h), ipv6: saved(l, backend, 'ipv6', h) });

/** The members of ipfence's sets, sorted. */
function sets(h: Host): string {
  return h.ns.exec(['ipset', 'save']).stdout.split('\n').filter((x) => /^add ipf-/.test(x)).sort().join('\n');
}

/** Both families' `ip rule` and the routes of table 100. */
function routing(h: Host): string {
  return ['-4', '-6'].map((f) => h.ns.exec(['ip', f, 'rule', 'show']).stdout + h.ns.exec(['ip', f, 'route', 'show', 'table', '100']).stdout).join('');
}

const ipt = (backend: XtablesVariant, f: Family, ...args: string[]): string[] => [`${TOOL[f]}-${backend}`, ...args];

function applyOk(l: Lab, backend: XtablesVariant, dir: string, args: readonly string[] = []): string {
  const r = l.runApply(backend, dir, args);
  expect(r.status, `apply.sh ${args.join(' ')}\n${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(lab.ok).each(lab.ok ? lab.backends : [])('the host side, policy after policy (%s back end)', (backend) => {
  it('full mode: a policy without the redirect and mark of the one before leaves neither live, nor their ip rule and route, in either family', async () => {
    const withBoth = `version: 1
redirects:
  - { name: alt, port: 8445, to-port: 8443, interface: eth0, hide-target: true }
marks:
  - { name: via-c2, proto: tcp, port: 7000, mark: 1, table: 100, via: [${C2.ipv4}, "${C2.ipv6}"] }
`;
    await withLab(async (l) => {
      await l.serve(l.server, ['tcp:8443']);
      applyOk(l, backend, l.folder(build(withBoth)));
      for (const f of FAMILIES) {
        expect(l.connect(l.c1, addr(l.server, f), 8445), `${f} redirected`).toBe('srv:8443');
        expect(l.connect(l.c1, addr(l.server, f), 8443), `${f} target hidden`).toBe('refused');
      }
      expect(routing(l.server).match(/fwmark 0x1 lookup 100/g)).toHaveLength(2);
      expect(routing(l.server).match(/default via/g)).toHaveLength(2);

      applyOk(l, backend, l.folder(build('version: 1\n')));
      for (const f of FAMILIES) {
        expect(l.connect(l.c1, addr(l.server, f), 8445), `${f}: the redirect is gone`).toBe('refused');
        expect(l.connect(l.c1, addr(l.server, f), 8443), `${f}: the new policy opens the target`).toBe('srv:8443');
        const s = saved(l, backend, f);
        expect(s).not.toContain('REDIRECT');
        expect(s).not.toContain('MARK');
      }
      expect(routing(l.server)).not.toContain('fwmark');
      expect(routing(l.server)).not.toContain('default via');
    });
  });

  it('switching full to coexist leaves none of the full rules: a port the new policy closes is closed in both families', async () => {
    const full = 'version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: 7000 }\n  - { port: 7001 }\nredirects:\n  - { port: 8445, to-port: 7001 }\n';
    const coexist = 'version: 1\nownership: coexist\ndefaults: { input: drop }\ninbound:\n  - { port: 7001 }\n';
    await withLab(async (l) => {
      await l.serve(l.server, ['tcp:7000', 'tcp:7001']);
      applyOk(l, backend, l.folder(build(full)));
      for (const f of FAMILIES) expect(l.connect(l.c1, addr(l.server, f), 7000), f).toBe('srv:7000');
      applyOk(l, backend, l.folder(build(coexist)));
      for (const f of FAMILIES) {
        expect(l.connect(l.c1, addr(l.server, f), 7000, { timeoutMs: 400 }), `${f}: closed now`).toBe('timeout');
        expect(l.connect(l.c1, addr(l.server, f), 7001), f).toBe('srv:7001');
        expect(l.connect(l.c1, addr(l.server, f), 8445, { timeoutMs: 400 }), `${f}: the full policy's redirect is gone`).toBe('timeout');
        const s = saved(l, backend, f);
        expect(s.split('\n').filter((x) => /^-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) /.test(x))).toEqual(['-A INPUT -j IPFENCE-INPUT', '-A FORWARD -j IPFENCE-FORWARD', '-A OUTPUT -j IPFENCE-OUTPUT']);
      }
    });
  });

  it('coexist on a Docker host with forward and input reject: published ports, allowed container egress and another tool\'s accept still work; the rest is refused', async () => {
    const policy = `version: 1
ownership: coexist
defaults: { input: reject, forward: reject }
inbound:
  - { name: ssh, port: 22 }
docker:
  interface: eth0
  published:
    - { name: web, port: 8080 }
  egress:
    - { name: to-c1, to: ${C1.ipv4}, port: 7000 }
  egress-default: deny
`;
    await withLab(async (l) => {
      const ctr = await dockerHost(l, backend);
      await l.serve(l.server, ['tcp:7100', 'tcp:7101']);
      await l.serve(l.c1, ['tcp:7000', 'tcp:7001']);
      // Another tool's accept, there before ipfence: ipfence's default verdict must not override it.
      for (const f of FAMILIES) l.check(l.server.ns.exec(ipt(backend, f, '-A', 'INPUT', '-p', 'tcp', '--dport', '7100', '-j', 'ACCEPT')));
      applyOk(l, backend, l.folder(build(policy)));
      expect(l.connect(l.c1, l.server.v4, 8080), 'published port').toBe('ctr:80');
      expect(l.connect(ctr, C1.ipv4, 7000), 'allowed container egress').toBe('c1:7000');
      expect(l.connect(ctr, C1.ipv4, 7001), 'other container egress').toBe('refused');
      for (const f of FAMILIES) {
        expect(l.connect(l.c1, addr(l.server, f), 7100), `${f}: the other tool's accept`).toBe('srv:7100');
        expect(l.connect(l.c1, addr(l.server, f), 7101), `${f}: ipfence's default reject`).toBe('refused');
        const forward = l.server.ns.exec(ipt(backend, f, '-S', 'FORWARD')).stdout.trim().split('\n');
        expect(forward.at(-1), `${f}: the default verdict is FORWARD's last rule`).toBe('-A FORWARD -j IPFENCE-FORWARD-DEFAULT');
      }
    });
  });

  it("coexist: a fail2ban ban wins over an ipfence allow in both families, and coexist.run-first names other ban chains", async () => {
    const allow = 'version: 1\nownership: coexist\ndefaults: { input: drop }\ninbound:\n  - { name: ssh, port: 2222 }\n';
    await withLab(async (l) => {
      await l.serve(l.server, ['tcp:2222']);
      for (const f of FAMILIES) {
        // INPUT then starts with the jump to f2b-sshd, then the one to mybans, each banning one client.
        for (const [chain, at] of [['mybans', '1'], ['f2b-sshd', '1']] as const) {
          l.check(l.server.ns.exec(ipt(backend, f, '-N', chain)));
          l.check(l.server.ns.exec(ipt(backend, f, '-A', chain, '-s', chain === 'f2b-sshd' ? C1[f] : C2[f], '-j', 'REJECT')));
          l.check(l.server.ns.exec(ipt(backend, f, '-A', chain, '-j', 'RETURN')));
          l.check(l.server.ns.exec(ipt(backend, f, '-I', 'INPUT', at, '-p', 'tcp', '--dport', '2222', '-j', chain)));
        }
      }
      applyOk(l, backend, l.folder(build(allow)));
      applyOk(l, backend, l.folder(build(allow)));
      // The kernel rate-limits ICMPv6 errors: the first to a new peer can be dropped, and the
      // refusal arrives with the SYN's retransmission a second later.
      const banned = { timeoutMs: 2500 };
      for (const f of FAMILIES) {
        expect(l.connect(l.c1, addr(l.server, f), 2222, banned), `${f}: banned by fail2ban`).toBe('refused');
        // mybans is not in the default list: ipfence's allow runs first, and c2 gets in.
        expect(l.connect(l.c2, addr(l.server, f), 2222), `${f}: mybans is not run first by default`).toBe('srv:2222');
      }
      applyOk(l, backend, l.folder(build(allow.replace('ownership: coexist\n', 'ownership: coexist\ncoexist: { run-first: [f2b-*, mybans] }\n'))));
      for (const f of FAMILIES) {
        expect(l.connect(l.c1, addr(l.server, f), 2222, banned), `${f}: banned by fail2ban`).toBe('refused');
        expect(l.connect(l.c2, addr(l.server, f), 2222, banned), `${f}: banned by mybans`).toBe('refused');
        expect(l.server.ns.exec(ipt(backend, f, '-S', 'INPUT')).stdout.match(/-j IPFENCE-INPUT$/gm)).toHaveLength(1);
      }
    });
  });

  it("coexist: fail2ban's ipset action (a rule matching set f2b-sshd in INPUT, no chain) stays ahead of ipfence's jump in both families", async () => {
    const allow = 'version: 1\nownership: coexist\ndefaults: { input: drop }\ninbound:\n  - { name: ssh, port: 2222 }\n';
    await withLab(async (l) => {
      await l.serve(l.server, ['tcp:2222']);
      for (const f of FAMILIES) {
        const set = f === 'ipv4' ? 'f2b-sshd' : 'f2b-sshd6';
        l.check(l.server.ns.exec(['ipset', 'create', set, 'hash:ip', 'family', f === 'ipv4' ? 'inet' : 'inet6']));
        l.check(l.server.ns.exec(['ipset', 'add', set, C1[f]]));
        // As fail2ban's iptables-ipset actions write it: a rule of INPUT itself, inserted at the top.
        l.check(l.server.ns.exec(ipt(backend, f, '-I', 'INPUT', '-p', 'tcp', '-m', 'multiport', '--dports', '2222', '-m', 'set', '--match-set', set, 'src', '-j', 'REJECT')));
      }
      const dir = l.folder(build(allow));
      applyOk(l, backend, dir);
      applyOk(l, backend, dir);
      for (const f of FAMILIES) {
        expect(l.connect(l.c1, addr(l.server, f), 2222, { timeoutMs: 2500 }), `${f}: banned by fail2ban`).toBe('refused');
        expect(l.connect(l.c2, addr(l.server, f), 2222), `${f}: not banned`).toBe('srv:2222');
        const input = l.server.ns.exec(ipt(backend, f, '-S', 'INPUT')).stdout.split('\n').filter((x) => x.startsWith('-A '));
        expect(input.findIndex((x) => x.includes('--match-set')), f).toBeLessThan(input.indexOf('-A INPUT -j IPFENCE-INPUT'));
      }
      expect(l.runApply(backend, dir, ['--check']).status, 'no drift').toBe(0);
    });
  });

  it('a refused restore changes nothing, the address sets included, and says it rolled back', async () => {
    const listed = (c: typeof C1) => `version: 1
defaults: { input: drop, set-threshold: 2 }
inbound:
  - { name: listed, port: 7000, from: [${c.ipv4}, 203.0.113.1, 203.0.113.2, "${c.ipv6}", "2001:db8:1::1", "2001:db8:1::2"] }
`;
    await withLab(async (l) => {
      await l.serve(l.server, ['tcp:7000']);
      applyOk(l, backend, l.folder(build(listed(C1))));
      const before = { rules: bothSaved(l, backend), sets: sets(l.server) };
      expect(before.sets).toContain(`add ipf-in-1-src-4 ${C1.ipv4}`);
      // The same list with c2 instead of c1, and a user this host does not have: the restore is refused.
      const refused = build(`${listed(C2)}users:\n  - { user: ipfence-no-such-user }\n`);
      const r = l.runApply(backend, l.folder(refused));
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain('refused rules.v4');
      expect(r.stderr).toContain('rolled back: the host runs what it ran before');
      expect(sets(l.server)).toBe(before.sets);
      expect(bothSaved(l, backend)).toEqual(before.rules);
      for (const f of FAMILIES) {
        expect(l.connect(l.c1, addr(l.server, f), 7000), `${f}: c1 is still listed`).toBe('srv:7000');
        expect(l.connect(l.c2, addr(l.server, f), 7000), `${f}: c2 is still not`).toBe('refused');
      }
    });
  });

  it('IPv4 and IPv6 are one transaction: an IPv6 file that is refused or missing, or no ip6tables, leaves IPv4 as it was', async () => {
    const open = (port: number) => `version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: ${port} }\n`;
    await withLab(async (l) => {
      applyOk(l, backend, l.folder(build(open(7000))));
      const before = bothSaved(l, backend);
      const next = build(open(7001));

      const refusedV6 = l.folder(next);
      const v6 = join(refusedV6, 'rules.v6');
      writeFileSync(v6, readFileSync(v6, 'utf8').replace('\nCOMMIT\n', '\n-A IPFENCE-INPUT -j IPFENCE-NO-SUCH-CHAIN\nCOMMIT\n'));
      const refused = l.runApply(backend, refusedV6);
      expect(refused.status, refused.stderr).toBe(1);
      expect(refused.stderr).toContain('refused rules.v6');
      expect(refused.stderr).toContain('rolled back');
      expect(bothSaved(l, backend)).toEqual(before);

      const missing = l.folder(next);
      rmSync(join(missing, 'rules.v6'));
      const gone = l.runApply(backend, missing);
      expect(gone.status).toBe(1);
      expect(gone.stderr).toContain('rules.v6 is missing');
      expect(bothSaved(l, backend)).toEqual(before);

      const noTool = l.runApply(backend, l.folder(next), [], l.server, ['IPFENCE_IP6TABLES=ip6tables-not-installed']);
      expect(noTool.status).toBe(1);
      expect(noTool.stderr).toContain('ip6tables-not-installed-restore or ip6tables-not-installed-save is not installed');
      expect(bothSaved(l, backend)).toEqual(before);
    });
  });

  it('a signal half way through an apply (the HUP of a dropped session, to its process group) leaves what was live before', async () => {
    const open = (port: number) => `version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: ${port} }\n`;
    await withLab(async (l) => {
      applyOk(l, backend, l.folder(build(open(7000))));
      const before = bothSaved(l, backend);
      // ip6tables whose restore takes two seconds: the signal comes after IPv4 is loaded, before IPv6 is.
      const tools = l.folder([]);
      writeFileSync(join(tools, 'ip6tables-slow-save'), `#!/bin/sh\nexec ip6tables-${backend}-save "$@"\n`, { mode: 0o755 });
      writeFileSync(join(tools, 'ip6tables-slow-restore'), `#!/bin/sh\nsleep 2\nexec ip6tables-${backend}-restore "$@"\n`, { mode: 0o755 });
      const dir = l.folder(build(open(7001)));
      // The lab's own lock: the host's is the lock tests' (apply-confirm.test.ts), which may run meanwhile.
      const env = [`IPFENCE_IPTABLES=iptables-${backend}`, `IPFENCE_IP6TABLES=${tools}/ip6tables-slow`, `IPFENCE_STATE_DIR=${l.stateDir}`, `IPFENCE_LOCK=${l.stateDir}/lock`];
      const child = spawn('ip', ['netns', 'exec', l.server.ns.name, 'env', ...env, 'sh', join(dir, 'apply.sh')], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // As soon as IPv4 is loaded (IPv6's restore then sleeps 2 s), not after a fixed second that a
      // loaded machine may not reach it in.
      for (const end = Date.now() + 20_000; !saved(l, backend, 'ipv4').includes('--dport 7001') && Date.now() < end; ) await sleep(100);
      expect(saved(l, backend, 'ipv4'), 'IPv4 is loaded when the signal comes').toContain('--dport 7001');
      process.kill(-child.pid!, 'SIGHUP');
      expect(await exited).toBe(1);
      expect(stderr).toContain('interrupted while changing the firewall; restoring the state that was live before');
      expect(stderr).toContain('rolled back');
      expect(bothSaved(l, backend)).toEqual(before);
    });
  });

  it('apply.sh refuses a folder holding files of two compiles, before changing anything', async () => {
    const open = (port: number) => `version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: ${port} }\n`;
    await withLab(async (l) => {
      const first = l.folder(build(open(7000)));
      applyOk(l, backend, first);
      const before = bothSaved(l, backend);
      const mixed = l.folder(build(open(7001)));
      cpSync(join(first, 'rules.v4'), join(mixed, 'rules.v4'));
      const r = l.runApply(backend, mixed);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('rules.v4 is not from the compile that wrote apply.sh');
      expect(r.stderr).toContain('nothing was changed');
      expect(bothSaved(l, backend)).toEqual(before);
    });
  });

  it('boot: in a fresh namespace, ipfence.service\'s ExecStart alone loads the whole ruleset with its address sets; an apply never confirmed before a reboot is not loaded again', async () => {
    const policy = (c: typeof C1) => `version: 1
defaults: { input: drop, set-threshold: 1 }
inbound:
  - { name: listed, port: 7000, from: [${c.ipv4}, 203.0.113.1, "${c.ipv6}", "2001:db8:1::1"] }
`;
    await withLab(async (l) => {
      const dir = l.folder([]);
      const files = build(policy(C1), { hostDir: dir });
      for (const a of files) writeFileSync(join(dir, a.file), a.content, { mode: a.executable ? 0o755 : 0o644 });
      const unit = files.find((a) => a.file === 'ipfence.service')!.content;
      expect(unit).toContain('Before=network-pre.target');
      const execStart = /^ExecStart=(.*)$/m.exec(unit)![1]!;
      expect(execStart).toBe(`${dir}/apply.sh --boot`);

      const booted: Host = { ...l.server, name: 'booted', ns: l.makeNs('boot') };
      const env = ['env', `IPFENCE_IPTABLES=iptables-${backend}`, `IPFENCE_IP6TABLES=ip6tables-${backend}`, `IPFENCE_LOCK=${l.stateDir}/lock`];
      const boot = booted.ns.exec([...env, `IPFENCE_STATE_DIR=${join(dir, 'state-boot')}`, 'sh', '-c', execStart]);
      expect(boot.status, boot.stderr).toBe(0);
      const applied: Host = { ...l.server, name: 'applied', ns: l.makeNs('applied') };
      const plain = applied.ns.exec([...env, `IPFENCE_STATE_DIR=${join(dir, 'state-plain')}`, 'sh', join(dir, 'apply.sh')]);
      expect(plain.status, plain.stderr).toBe(0);
      expect(bothSaved(l, backend, booted)).toEqual(bothSaved(l, backend, applied));
      expect(sets(booted)).toBe(sets(applied));
      expect(sets(booted)).toContain(`add ipf-in-1-src-4 ${C1.ipv4}`);

      // A host applies c1's list, then c2's with --confirm, and goes down before anyone confirms.
      applyOk(l, backend, l.folder(build(policy(C1))));
      const confirmed = { rules: bothSaved(l, backend), sets: sets(l.server) };
      applyOk(l, backend, l.folder(build(policy(C2))), ['--confirm', '60']);
      const watcher = readFileSync(join(l.stateDir, 'pending', 'watcher'), 'utf8').split(' ')[0]!;
      l.check(l.server.ns.exec(['kill', watcher]));
      const rebooted: Host = { ...l.server, name: 'rebooted', ns: l.makeNs('reboot') };
      const again = l.runApply(backend, l.folder(build(policy(C2))), ['--boot'], rebooted);
      expect(again.status, again.stderr).toBe(0);
      expect(again.stderr).toContain('was never confirmed; loading what ran before it');
      expect(bothSaved(l, backend, rebooted)).toEqual(confirmed.rules);
      expect(sets(rebooted)).toBe(confirmed.sets);
    });
  });

  it('apply.sh finds its own folder whatever CDPATH says', async () => {
    await withLab(async (l) => {
      const real = l.folder([]);
      mkdirSync(join(real, 'out'));
      const decoy = l.folder([]);
      mkdirSync(join(decoy, 'out'));
      for (const [dir, port] of [[join(real, 'out'), 7000], [join(decoy, 'out'), 7001]] as const) {
        for (const a of build(`version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: ${port} }\n`)) writeFileSync(join(dir, a.file), a.content, { mode: a.executable ? 0o755 : 0o644 });
      }
      const r = l.server.ns.exec(['sh', '-c', `cd "$1" && CDPATH="$2" IPFENCE_IPTABLES=iptables-${backend} IPFENCE_IP6TABLES=ip6tables-${backend} IPFENCE_STATE_DIR="$3" IPFENCE_LOCK="$3/lock" sh out/apply.sh`, 'sh', real, decoy, l.stateDir]);
      expect(r.status, r.stderr).toBe(0);
      expect(saved(l, backend, 'ipv4')).toContain('--dport 7000');
      expect(saved(l, backend, 'ipv4')).not.toContain('--dport 7001');
    });
  });
});

describe.runIf(lab.ok).each(lab.ok ? lab.backends : [])('apply.sh --confirm (%s back end)', (backend) => {
  const admin = (who: typeof C1) => `version: 1\ndefaults: { input: drop }\ninbound:\n  - { name: admin, port: 2222, from: [${who.ipv4}, "${who.ipv6}"] }\n`;
  const TIMEOUT_S = 3;

  it('a policy that locks the admin out, not confirmed, is rolled back by itself within the timeout + 2 s', async () => {
    await withLab(async (l) => {
      await l.serve(l.server, ['tcp:2222']);
      applyOk(l, backend, l.folder(build(admin(C1))));
      const before = bothSaved(l, backend);
      const started = Date.now();
      const out = applyOk(l, backend, l.folder(build(admin(C2))), ['--confirm', String(TIMEOUT_S)]);
      expect(out).toContain(`rolled back in ${TIMEOUT_S} s unless you run, over a NEW connection:`);
      expect(l.connect(l.c1, l.server.v4, 2222), 'the admin is locked out').toBe('refused');
      // A plain apply meanwhile would make the rollback return to the wrong state: refused.
      const meanwhile = l.runApply(backend, l.folder(build(admin(C1))));
      expect(meanwhile.status).toBe(1);
      expect(meanwhile.stderr).toContain('waiting for confirmation');
      let back = '';
      while (Date.now() - started < (TIMEOUT_S + 2) * 1000 && back !== 'srv:2222') {
        await sleep(250);
        back = l.connect(l.c1, l.server.v4, 2222, { timeoutMs: 300 });
      }
      expect(back, 'the admin connects again').toBe('srv:2222');
      expect(Date.now() - started).toBeLessThanOrEqual((TIMEOUT_S + 2) * 1000);
      await sleep(300);
      expect(bothSaved(l, backend)).toEqual(before);
      expect(l.connect(l.c1, l.server.v6, 2222)).toBe('srv:2222');
      const late = l.runApply(backend, l.folder(build(admin(C2))), ['--confirmed']);
      expect(late.status).toBe(1);
      expect(late.stderr).toContain('was not confirmed in time and was rolled back');
      expect(readFileSync(join(l.stateDir, 'log'), 'utf8')).toContain(`not confirmed within ${TIMEOUT_S} s: rolling back`);
    });
  });

  it('confirmed over a new connection, the new ruleset stays after the timeout', async () => {
    await withLab(async (l) => {
      await l.serve(l.server, ['tcp:2222']);
      applyOk(l, backend, l.folder(build(admin(C1))));
      const dir = l.folder(build(admin(C2)));
      applyOk(l, backend, dir, ['--confirm', String(TIMEOUT_S)]);
      const applied = bothSaved(l, backend);
      // The new connection that proves access, then the confirmation.
      expect(l.connect(l.c2, l.server.v4, 2222)).toBe('srv:2222');
      expect(applyOk(l, backend, dir, ['--confirmed'])).toContain('confirmed');
      await sleep((TIMEOUT_S + 1) * 1000);
      expect(bothSaved(l, backend)).toEqual(applied);
      expect(l.connect(l.c1, l.server.v4, 2222)).toBe('refused');
      expect(l.connect(l.c2, l.server.v6, 2222)).toBe('srv:2222');
      const twice = l.runApply(backend, dir, ['--confirmed']);
      expect(twice.status).toBe(1);
      expect(twice.stderr).toContain('nothing to confirm');
    });
  });
});

describe.runIf(lab.ok).each(lab.ok ? lab.backends : [])('apply.sh --check: drift (%s back end)', (backend) => {
  const check = (l: Lab, dir: string) => l.runApply(backend, dir, ['--check']);
  const firstLine = (s: string) => s.split('\n')[0]!;

  it('full mode: none right after apply; a rule inserted by hand, a set member removed, an ip rule deleted, another tool\'s chain: each is drift, and an apply clears it', async () => {
    const policy = `version: 1
defaults: { input: drop, set-threshold: 1 }
inbound:
  - { name: listed, port: 7000, from: [${C1.ipv4}, 203.0.113.1, "${C1.ipv6}", "2001:db8:1::1"] }
marks:
  - { name: via-c2, proto: tcp, port: 7001, mark: 1, table: 100, via: [${C2.ipv4}, "${C2.ipv6}"] }
`;
    await withLab(async (l) => {
      const dir = l.folder(build(policy));
      applyOk(l, backend, dir);
      const clean = check(l, dir);
      expect(clean.status, clean.stdout + clean.stderr).toBe(0);
      expect(firstLine(clean.stdout)).toMatch(/^ipfence check: OK: the host holds what these files load \(host\.yaml, sha256 [0-9a-f]{64}\)$/);

      const drifts: [string, string[], string, string][] = [
        ['a rule inserted by hand', ipt(backend, 'ipv4', '-I', 'IPFENCE-INPUT', '1', '-s', '203.0.113.50', '-j', 'ACCEPT'), 'IPv4 rules', '+filter: -A IPFENCE-INPUT -s 203.0.113.50/32 -j ACCEPT'],
        ['a set member removed', ['ipset', 'del', 'ipf-in-1-src-6', C1.ipv6], 'address sets', `-add ipf-in-1-src-6 ${C1.ipv6}`],
        ['an ip rule deleted', ['ip', '-6', 'rule', 'del', 'fwmark', '1', 'table', '100'], 'routing', 'routing missing: 6 rule 10000 0x1 100'],
        ["another tool's chain", ipt(backend, 'ipv6', '-N', 'other-tool'), 'IPv6 rules', '+filter: :other-tool -'],
      ];
      for (const [what, command, summary, line] of drifts) {
        l.check(l.server.ns.exec(command), what);
        const r = check(l, dir);
        expect(r.status, `${what}\n${r.stdout}${r.stderr}`).toBe(1);
        expect(firstLine(r.stdout), what).toBe(`ipfence check: DRIFT: ${summary} differ from what these files load (host.yaml, sha256 ${/sha256 ([0-9a-f]{64})/.exec(clean.stdout)![1]})`);
        expect(r.stdout.split('\n'), what).toContain(line);
        applyOk(l, backend, dir);
        expect(check(l, dir).status, `after ${what}, an apply clears the drift`).toBe(0);
      }
    });
  });

  it("coexist: another tool's chains and rules are not drift, ipfence's are; a jump out of place is", async () => {
    const policy = 'version: 1\nownership: coexist\ndefaults: { input: drop }\ninbound:\n  - { port: 7000 }\n';
    await withLab(async (l) => {
      for (const f of FAMILIES) l.check(l.server.ns.exec(ipt(backend, f, '-N', 'f2b-sshd')));
      const dir = l.folder(build(policy));
      applyOk(l, backend, dir);
      for (const f of FAMILIES) {
        l.check(l.server.ns.exec(ipt(backend, f, '-A', 'f2b-sshd', '-s', C2[f], '-j', 'REJECT')));
        l.check(l.server.ns.exec(ipt(backend, f, '-A', 'INPUT', '-p', 'tcp', '--dport', '7100', '-j', 'ACCEPT')));
      }
      const foreign = check(l, dir);
      expect(foreign.status, foreign.stdout + foreign.stderr).toBe(0);

      l.check(l.server.ns.exec(ipt(backend, 'ipv4', '-D', 'IPFENCE-INPUT', '-p', 'tcp', '-m', 'tcp', '--dport', '7000', '-m', 'comment', '--comment', 'inbound[0]', '-j', 'ACCEPT')));
      const ours = check(l, dir);
      expect(ours.status, ours.stdout).toBe(1);
      expect(ours.stdout).toContain('-filter: -A IPFENCE-INPUT -p tcp -m tcp --dport 7000 -m comment --comment "inbound[0]" -j ACCEPT');
      applyOk(l, backend, dir);

      // fail2ban starting after ipfence with its jump behind ipfence's (it normally inserts at the top).
      l.check(l.server.ns.exec(ipt(backend, 'ipv6', '-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'f2b-sshd')));
      const misplaced = check(l, dir);
      expect(misplaced.status).toBe(1);
      expect(misplaced.stdout).toContain("IPv6 misplaced: filter: the jump to f2b-sshd in INPUT comes after ipfence's (bans must run first)");
      applyOk(l, backend, dir, ['--rehook']);
      expect(check(l, dir).status).toBe(0);
    });
  });

  it('cannot tell (exit 2, UNKNOWN) when a file of the compile is missing', async () => {
    await withLab(async (l) => {
      const dir = l.folder(build('version: 1\n'));
      applyOk(l, backend, dir);
      rmSync(join(dir, 'rules.v6'));
      const r = check(l, dir);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('rules.v6 is missing');
    });
  });
});
