import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Artifact } from '../../src/emit/emit.js';
import { kernelLab, type XtablesVariant } from '../../src/verify/netns.js';
import { compileOrThrow } from '../helpers/compile.js';
import { dockerHost } from '../helpers/docker-host.js';
import { withLab, type Lab } from '../helpers/lab.js';

/**
 * A Docker 28 host in a namespace: Docker's chains and NAT (test/docker28), a docker0
 * bridge with a "container" namespace behind it. ipfence's coexist output is applied with the
 * generated apply.sh, as an operator would, and Docker's rules must survive untouched.
 */
const lab = kernelLab();
const C1 = '192.0.2.2';
const C2 = '192.0.2.3';

const POLICY = `version: 1
ownership: coexist
inbound:
  - { name: ssh, port: 22 }
docker:
  interface: eth0
  published:
    - { name: web, port: 8080 }
    - { name: db, port: 15432, from: ${C1} }
  egress:
    - { name: to-c1, to: ${C1}, port: 7000 }
  egress-default: deny
`;
const CHANGED = `version: 1
ownership: coexist
docker:
  published:
    - { name: db, port: 15432, from: ${C2} }
`;

const artifacts = (policy: string): readonly Artifact[] => compileOrThrow(policy, 'docker-host.yaml');

const apply = (l: Lab, backend: XtablesVariant, files: readonly Artifact[]): void => l.apply(backend, files);

/** iptables-save without its timestamped comments and counters. */
function saved(l: Lab, backend: XtablesVariant, family: 'ipv4' | 'ipv6'): string {
  return l.server.ns.save(backend, family).split('\n').filter((x) => !x.startsWith('#')).map((x) => x.replace(/ \[\d+:\d+\]$/, '')).join('\n');
}

const tablesOf = (save: string): string[] => save.split('\n').filter((x) => x.startsWith('*')).map((x) => x.slice(1)).sort();

/** Each chain's Docker lines, in order: what must survive our apply. */
function dockerLines(save: string): string[] {
  return save.split('\n').filter((x) => !x.includes('IPFENCE') && /^(:DOCKER|-A (DOCKER|FORWARD -j DOCKER|PREROUTING -m addrtype|OUTPUT ! -d 127|POSTROUTING -s 172|PREROUTING -d 172))/.test(x));
}

describe.runIf(lab.ok).each(lab.ok ? lab.backends : [])('Docker host, coexist mode (%s back end)', (backend) => {
  it("keeps every Docker rule, filters published ports by original port, limits container egress, and applies idempotently", async () => {
    await withLab(async (l) => {
      const ctr = await dockerHost(l, backend);
      await l.serve(l.c1, ['tcp:7000', 'tcp:7001']);
      await l.serve(l.c2, ['tcp:7000']);
      // Control: before ipfence, Docker alone publishes both ports to everyone.
      expect(l.connect(l.c2, l.server.v4, 15432)).toBe('ctr:5432');
      const before = { ipv4: saved(l, backend, 'ipv4'), ipv6: saved(l, backend, 'ipv6') };

      const files = artifacts(POLICY);
      apply(l, backend, files);
      for (const f of ['ipv4', 'ipv6'] as const) {
        const after = saved(l, backend, f);
        const kept = dockerLines(after);
        expect(kept, `${f}: a Docker rule was changed or lost`).toEqual(dockerLines(before[f]));
        expect(after).toContain('-A DOCKER-USER -j IPFENCE-DOCKER');
        // Only the tables the rules use, or that were there before, exist afterwards.
        expect(tablesOf(after)).toEqual([...new Set([...tablesOf(before[f]), 'filter'])].sort());
        expect(after.split('\n').filter((x) => x.startsWith('-A FORWARD')).slice(0, 2)).toEqual(['-A FORWARD -j DOCKER-USER', '-A FORWARD -j IPFENCE-FORWARD']);
      }

      expect(l.connect(l.c1, l.server.v4, 8080), 'web from c1').toBe('ctr:80');
      expect(l.connect(l.c2, l.server.v4, 8080), 'web from c2').toBe('ctr:80');
      expect(l.connect(l.c1, l.server.v4, 15432), 'db from the allowed client').toBe('ctr:5432');
      expect(l.connect(l.c2, l.server.v4, 15432), 'db from another client').toBe('refused');
      expect(l.connect(ctr, C1, 7000), 'container egress allowed').toBe('c1:7000');
      expect(l.connect(ctr, C1, 7001), 'container egress to another port').toBe('refused');
      expect(l.connect(ctr, C2, 7000), 'container egress to another host').toBe('refused');

      const once = { ipv4: saved(l, backend, 'ipv4'), ipv6: saved(l, backend, 'ipv6') };
      apply(l, backend, files);
      expect(saved(l, backend, 'ipv4'), 'second apply changed the IPv4 ruleset').toBe(once.ipv4);
      expect(saved(l, backend, 'ipv6'), 'second apply changed the IPv6 ruleset').toBe(once.ipv6);
    });
  });

  it('a changed policy applied over the old one leaves exactly what a fresh apply leaves (no stale rule or chain)', async () => {
    const over = await withLab(async (l) => {
      await dockerHost(l, backend);
      apply(l, backend, artifacts(POLICY));
      apply(l, backend, artifacts(CHANGED));
      expect(l.connect(l.c2, l.server.v4, 15432)).toBe('ctr:5432');
      expect(l.connect(l.c1, l.server.v4, 15432)).toBe('refused');
      return { ipv4: saved(l, backend, 'ipv4'), ipv6: saved(l, backend, 'ipv6') };
    });
    const fresh = await withLab(async (l) => {
      await dockerHost(l, backend);
      apply(l, backend, artifacts(CHANGED));
      return { ipv4: saved(l, backend, 'ipv4'), ipv6: saved(l, backend, 'ipv6') };
    });
    expect(over.ipv4).toBe(fresh.ipv4);
    expect(over.ipv6).toBe(fresh.ipv6);
    expect(over.ipv4).not.toContain('to-c1');
    expect(over.ipv4).not.toContain('IPFENCE-INPUT -p tcp');
  });
});

describe.runIf(lab.ok).each(lab.ok ? lab.backends : [])('apply.sh in full mode (%s back end)', (backend) => {
  it('loads both families and the policy routing; a second run leaves the same ruleset', async () => {
    // The lab's gateway and device: the example's VPN device does not exist here.
    const files = artifacts(readFileSync('examples/policy-routing.yaml', 'utf8').replace('via: 192.168.1.254', `via: ${C2}`).replace('dev: wg0', 'dev: eth0'));
    await withLab(async (l) => {
      apply(l, backend, files);
      const once = { ipv4: saved(l, backend, 'ipv4'), ipv6: saved(l, backend, 'ipv6'), rules: l.server.ns.exec(['ip', 'rule', 'show']).stdout };
      expect(once.ipv4).toContain('-j MARK --set-xmark 0x1/0xffffffff');
      apply(l, backend, files);
      expect(saved(l, backend, 'ipv4')).toBe(once.ipv4);
      expect(saved(l, backend, 'ipv6')).toBe(once.ipv6);
      expect(l.server.ns.exec(['ip', 'rule', 'show']).stdout).toBe(once.rules);
      expect(once.rules.match(/fwmark 0x1 lookup 100/g)).toHaveLength(1);
    });
  });
});

describe.runIf(lab.ok).each(lab.ok ? lab.backends : [])('coexist mode with nat and mangle hooks (%s back end)', (backend) => {
  it('a redirect works through IPFENCE-PREROUTING/OUTPUT hooks, and foreign nat rules stay', async () => {
    const policy = `version: 1
ownership: coexist
redirects:
  - { name: tls-alt, port: 8445, to-port: 8443, interface: eth0, local: true, hide-target: true }
marks:
  - { name: mark-7000, proto: tcp, port: 7000, mark: 7 }
`;
    await withLab(async (l) => {
      // Another tool's nat rule, which a coexisting apply must leave alone.
      l.check(l.server.ns.exec([`iptables-${backend}`, '-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth0', '-j', 'RETURN']));
      await l.serve(l.server, ['tcp:8443']);
      await l.serve(l.c1, ['tcp:7000']);
      apply(l, backend, artifacts(policy));
      apply(l, backend, artifacts(policy));
      const nat = l.server.ns.exec([`iptables-${backend}-save`, '-t', 'nat']).stdout;
      expect(nat.match(/^-A PREROUTING -j IPFENCE-PREROUTING$/gm)).toHaveLength(1);
      expect(nat.match(/^-A OUTPUT -j IPFENCE-OUTPUT$/gm)).toHaveLength(1);
      expect(nat).toContain('-A POSTROUTING -o eth0 -j RETURN');
      expect(l.connect(l.c1, l.server.v4, 8445)).toBe('srv:8443');
      expect(l.connect(l.c1, l.server.v4, 8443)).toBe('refused');
      expect(l.connect(l.server, '127.0.0.1', 8445)).toBe('srv:8443');
      expect(l.connect(l.c1, l.server.v6, 8445)).toBe('srv:8443');
      expect(l.connect(l.server, C1, 7000)).toBe('c1:7000');
      const mangle = l.server.ns.exec([`iptables-${backend}-save`, '-c', '-t', 'mangle']).stdout;
      const markLine = mangle.split('\n').find((x) => x.includes('IPFENCE-OUTPUT') && x.includes('--set-xmark 0x7'))!;
      expect(Number(/^\[(\d+):/.exec(markLine)![1]), 'the mark rule in IPFENCE-OUTPUT saw the connection').toBeGreaterThan(0);
    });
  });
});
