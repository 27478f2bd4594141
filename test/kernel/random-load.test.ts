import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { compile } from '../../src/pipeline.js';
import { policyArb } from '../helpers/arbitrary.js';
import { kernelLab, withNetns } from '../../src/verify/netns.js';
import { ruleComments } from '../helpers/restore-parse.js';

const lab = kernelLab();
const runs = Number(process.env.IPFENCE_KERNEL_RUNS ?? 60);

// Without the lab, load.test.ts reports the skip (or, under CI=true, the failure) once.
describe.runIf(lab.ok)('random valid policies load for real', () => {
  it.each(lab.ok ? lab.backends : [])(`%s back end accepts every compiled random policy and holds its rules in order (${runs} policies)`, async (backend) => {
    let loaded = 0;
    await fc.assert(
      fc.asyncProperty(policyArb, async (p) => {
        const r = compile(stringify(p), 'policy.yaml');
        if (!r.artifacts) return;
        await withNetns((ns) => {
          for (const a of r.artifacts!.filter((x) => x.file.startsWith('rules.'))) {
            const res = ns.restore(backend, a.file === 'rules.v4' ? 'ipv4' : 'ipv6', a.content);
            expect(res.stderr, `${a.file} refused:\n${a.content}`).toBe('');
            expect(res.status).toBe(0);
            // Round trip: what the kernel holds is what the IR says, rule for rule, in order.
            const family = a.file === 'rules.v4' ? 'ipv4' : 'ipv6';
            expect(ruleComments(ns.save(backend, family))).toEqual(ruleComments(a.content));
          }
        });
        loaded++;
      }),
      { numRuns: runs },
    );
    expect(loaded).toBeGreaterThan(runs / 3);
  }, 240_000);
});
