import { describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';

// A coexisting policy that sets no forward policy declares no FORWARD chain of its own, and the
// model answered "accepted by the default policy" without walking IPFENCE-DOCKER, which the
// kernel meets first (from DOCKER-USER): an intent test of container egress that the rules
// reject failed, and one expecting allow passed (a second no-context review).
const policy = (expect: string): string =>
  `version: 1\nownership: coexist\ndocker:\n  interface: eth0\n  egress:\n    - { name: dns, to: 10.0.0.2, proto: udp, port: 53 }\n  egress-default: reject\ntests:\n  - { name: out, direction: forward, in: docker0, out: eth0, to: 8.8.8.8, port: 80, expect: ${expect} }\n  - { name: dns, direction: forward, in: docker0, out: eth0, to: 10.0.0.2, proto: udp, port: 53, expect: allow }\n`;

describe("chains hooked into a hook the policy declares no chain for", () => {
  it('decide what they decide', () => {
    expect(compile(policy('reject'), 'p.yaml').diagnostics.filter((d) => d.code === 'test-failed')).toEqual([]);
  });
  it('so a test that expects otherwise fails', () => {
    const failed = compile(policy('allow'), 'p.yaml').diagnostics.filter((d) => d.code === 'test-failed');
    expect(failed.map((d) => `${d.line}:${d.col}`)).toEqual(['9:5']);
  });
});
