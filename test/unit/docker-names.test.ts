import { describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';

// Docker's published ports and egress rules carry their names as iptables comments, as every
// other rule does: a control or format character in one is refused at the name, like an
// inbound rule's (a no-context review found them written into rules.v4, or crashing the emitter).
describe("docker rules' names", () => {
  it.each([
    ['a published port, bidi override', 'published:\n    - { name: "web\\u202e", port: 80 }', '5:15'],
    ['a published port, control character', 'published:\n    - { name: "web\\u0001", port: 80 }', '5:15'],
    ['an egress rule', 'egress:\n    - { name: "out\\u200b", to: 10.0.0.1 }', '5:15'],
  ])('%s is refused at the name', (_what, section, at) => {
    const r = compile(`version: 1\nownership: coexist\ndocker:\n  ${section}\n`, 'p.yaml');
    expect(r.artifacts).toBeUndefined();
    expect(r.diagnostics.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual([`${at} unsafe-string`]);
  });
});
