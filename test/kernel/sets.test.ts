import { describe, expect, it } from 'vitest';
import type { Artifact } from '../../src/emit/emit.js';
import { kernelLab, type XtablesVariant } from '../../src/verify/netns.js';
import { compileOrThrow } from '../helpers/compile.js';
import { withLab, type Lab } from '../helpers/lab.js';

/**
 * A 10,000-address allowlist becomes two hash:net sets and a handful of rules. Reloading it with
 * a different list (swap, never an empty set) must not fail a single allowed connection.
 */
const lab = kernelLab();
const C1 = { v4: '192.0.2.2', v6: '2001:db8:99::2' };

/** 5,000 IPv4 and 5,000 IPv6 addresses, none adjacent (so nothing merges), plus client c1. */
function allowlist(seed: number): string {
  const v4 = Array.from({ length: 5000 }, (_, i) => `198.${18 + ((i >> 14) & 1)}.${(i >> 6) & 255}.${((i & 63) << 2) + seed}`);
  const v6 = Array.from({ length: 5000 }, (_, i) => `"2001:db8:1${seed}::${(i * 2).toString(16)}"`);
  return `version: 1
defaults: { input: drop, set-threshold: 32 }
addresses:
  big: [${[...v4, ...v6, C1.v4, `"${C1.v6}"`].join(', ')}]
inbound:
  - { name: big-allow, port: 8080, from: big }
`;
}

const build = (policy: string): readonly Artifact[] => compileOrThrow(policy, 'sets.yaml');
const apply = (l: Lab, backend: XtablesVariant, files: readonly Artifact[]): void => l.apply(backend, files);

describe.runIf(lab.ok).each(lab.ok ? lab.backends : [])('a 10,000-address allowlist as ipsets (%s back end)', (backend) => {
  it('admits listed clients, refuses others, and reloads without dropping one allowed attempt', async () => {
    const first = build(allowlist(1));
    const second = build(allowlist(3));
    const sets = first.find((a) => a.file === 'ipsets')!.content;
    expect(sets.match(/^add /gm)).toHaveLength(10002);
    await withLab(async (l) => {
      await l.serve(l.server, ['tcp:8080']);
      apply(l, backend, first);
      const v4rules = l.server.ns.save(backend, 'ipv4').split('\n').filter((x) => x.startsWith('-A INPUT'));
      expect(v4rules.length, 'the packet path stays a few rules').toBeLessThan(8);
      for (const f of ['v4', 'v6'] as const) {
        expect(l.connect(l.c1, l.server[f], 8080), `listed client over ${f}`).toBe('srv:8080');
        expect(l.connect(l.c2, l.server[f], 8080), `unlisted client over ${f}`).toBe('refused');
      }
      // Clients keep connecting while the list is swapped back and forth.
      let clientsDone = 0;
      const during = [l.connectManyAsync(l.c1, l.server.v4, 8080, 200, 15), l.connectManyAsync(l.c1, l.server.v6, 8080, 200, 15)].map((p) => p.finally(() => (clientsDone = Date.now())));
      for (const files of [second, first, second]) apply(l, backend, files);
      const appliesDone = Date.now();
      const results = (await Promise.all(during)).flat();
      expect(clientsDone, 'the clients must still be connecting when the reloads end').toBeGreaterThan(appliesDone);
      expect(results.filter((r) => r !== 'srv:8080'), 'an allowed attempt failed during a reload').toEqual([]);
      expect(l.server.ns.exec(['ipset', 'list', '-n']).stdout.trim().split('\n').sort()).toEqual(['ipf-in-1-src-4', 'ipf-in-1-src-6']);
      expect(l.connect(l.c2, l.server.v4, 8080)).toBe('refused');
    });
  }, 120_000);
});
