import { describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';
import { argAfter, parseRestore } from '../helpers/restore-parse.js';

function dockerRules(policy: string, file: 'rules.v4' | 'rules.v6') {
  const r = compile(policy, 'p.yaml');
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const text = r.artifacts!.find((a) => a.file === file)!.content;
  return parseRestore(text).find((t) => t.name === 'filter')!.rules.filter((x) => x.chain === 'IPFENCE-DOCKER').map((x) => ({ comment: argAfter(x.args, '--comment'), args: x.args }));
}

describe('docker address semantics per family', () => {
  it('"not that IPv4 network" leaves every IPv6 source allowed, and denies only that network in IPv4', () => {
    const policy = 'version: 1\nownership: coexist\ndocker:\n  published:\n    - { name: admin, port: 9000, from: "!203.0.113.0/24" }\n';
    const v6 = dockerRules(policy, 'rules.v6').filter((r) => r.comment?.startsWith('admin'));
    expect(v6.map((r) => [r.comment, argAfter(r.args, '-j'), r.args.includes('-s')])).toEqual([['admin', 'RETURN', false]]);
    const v4 = dockerRules(policy, 'rules.v4').filter((r) => r.comment?.startsWith('admin'));
    expect(v4.map((r) => [r.comment, argAfter(r.args, '-j')])).toEqual([['admin', 'RETURN'], ['admin (others)', 'REJECT']]);
    expect(v4[0]!.args.slice(0, 3)).toEqual(['!', '-s', '203.0.113.0/24']);
  });
  it('an allowlist of IPv4 sources denies the published port to everyone over IPv6', () => {
    const policy = 'version: 1\nownership: coexist\ndocker:\n  published:\n    - { name: db, port: 5432, from: 10.20.0.0/24 }\n';
    expect(dockerRules(policy, 'rules.v6').filter((r) => r.comment?.startsWith('db')).map((r) => r.comment)).toEqual(['db (others)']);
  });
  it('egress to "not an IPv4 network" also applies to every IPv6 destination', () => {
    const policy = 'version: 1\nownership: coexist\ndocker:\n  bridges: [docker0]\n  egress:\n    - { name: out, to: "!10.0.0.0/8", action: deny }\n';
    expect(dockerRules(policy, 'rules.v6').filter((r) => r.comment === 'out').length).toBeGreaterThan(0);
    expect(dockerRules(policy, 'rules.v6').filter((r) => r.comment === 'out').every((r) => !r.args.includes('-d'))).toBe(true);
  });
  it('refuses negations that iptables cannot express', () => {
    const two = compile('version: 1\nownership: coexist\ndocker:\n  published:\n    - { port: 1, from: ["!10.0.0.0/8", 192.0.2.1] }\n', 'p.yaml');
    expect(two.diagnostics.map((d) => d.code)).toContain('schema-value');
    const all = compile('version: 1\nownership: coexist\ndocker:\n  published:\n    - { port: 1, from: "!0.0.0.0/0" }\n', 'p.yaml');
    expect(all.diagnostics.map((d) => d.message).join()).toMatch(/matches nothing/);
    const range = compile('version: 1\nownership: coexist\ndocker:\n  published:\n    - { port: 1, from: "192.0.2.9-192.0.2.1" }\n', 'p.yaml');
    expect(range.diagnostics.map((d) => d.code)).toEqual(['address-invalid']);
  });
});
