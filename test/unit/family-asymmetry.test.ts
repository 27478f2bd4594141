import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS generator
import { ipfencePolicy } from '../../bench/generate.mjs';
import { everyBlockPaired, familyAsymmetry, oneFamilyBlocks } from '../../src/check/checks/family-asymmetry.js';
import { compile } from '../../src/pipeline.js';

const irOf = (text: string) => {
  const r = compile(text, 'p.yaml', 'p.yaml', { emit: false });
  expect(r.ir).toBeDefined();
  return r.ir!;
};

// The short cut must be taken where it pays (large dual-stack lists) and never where a block is
// in one family only: else the check is slow again, or silent where it must warn.
describe('family-asymmetry: the paired short cut', () => {
  it.each([
    ['a dual-stack allowlist with drops, as the benchmark writes it', ipfencePolicy(200)],
    ['the same with the default allow-first order', ipfencePolicy(200, { allowFirst: true })],
    ['allowlists whose other sources are denied (one origin for both families)', 'version: 1\ninbound:\n  - { port: 22, from: [192.0.2.1, "2001:db8::1"] }\n  - { port: 80, action: deny }\n'],
    ['examples/web-server.yaml', readFileSync('examples/web-server.yaml', 'utf8')],
    ['examples/user-outbound.yaml', readFileSync('examples/user-outbound.yaml', 'utf8')],
  ])('is taken for %s, and the full check agrees: no finding', (_name, text) => {
    const ir = irOf(text);
    expect(everyBlockPaired(ir)).toBe(true);
    expect(oneFamilyBlocks(ir)).toEqual([]);
  });

  it.each([
    ['an IPv4-only deny', 'version: 1\noutbound:\n  - { to: 192.0.2.80, action: deny }\n'],
    ['an IPv6-only drop among dual-stack ones', 'version: 1\ninbound:\n  - { port: 22, from: [192.0.2.1, "2001:db8::1"], action: drop }\n  - { port: 23, from: "2001:db8::2", action: drop }\n'],
    ['a user block on IPv4 only', 'version: 1\nusers:\n  - { user: 1001, family: ipv4 }\n'],
  ])('is not taken for %s, which the check reports', (_name, text) => {
    const ir = irOf(text);
    expect(everyBlockPaired(ir)).toBe(false);
    expect(familyAsymmetry.check({ ir, policy: {} as never, source: undefined as never }).map((d) => d.code)).toEqual(['family-asymmetry']);
  });

  it('is not taken when a rule has its own chain in one family only', () => {
    // except in IPv4 only: the IPv4 rule jumps to its own chain, whose drop has no twin; the IPv6 one drops.
    const ir = irOf('version: 1\ninbound:\n  - { port: 22, from: [192.0.2.0/24, "2001:db8::/32"], except: 192.0.2.7, action: drop }\n');
    expect(everyBlockPaired(ir)).toBe(false);
    expect(oneFamilyBlocks(ir)).toEqual([]);
  });
});
