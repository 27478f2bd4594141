import { describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';

/**
 * `interface-unknown` warns of an interface name not under `interfaces:` (likely a typo) when that
 * map exists. Loopback is on every host and never a typo: in a rule or an intent test, no warning.
 */
const policy = (use: string) =>
  `version: 1\ninterfaces: { wan: eth0 }\ndefaults: { input: drop }\ninbound:\n  - { name: ssh, port: 22 }\n  - { name: web, port: 443, interface: wan }\n${use}`;
const warned = (use: string) => compile(policy(use), 'p.yaml', 'p.yaml').diagnostics.filter((d) => d.code === 'interface-unknown').map((d) => (d.path ?? []).join('.'));

describe('interface-unknown', () => {
  it.each([
    ['an intent test in on lo', 'tests:\n  - { name: local, from: 127.0.0.1, port: 22, interface: lo, expect: allow }\n', []],
    ['an intent test out on lo', 'tests:\n  - { name: local, direction: out, to: 127.0.0.1, port: 22, interface: lo, expect: allow }\n', []],
    ['a rule on lo', 'outbound:\n  - { name: local, port: 25, interface: lo }\n', []],
    ['an intent test on the alias', 'tests:\n  - { name: web, from: 192.0.2.1, port: 443, interface: wan, expect: allow }\n', []],
    ['an intent test on the kernel name of an alias', 'tests:\n  - { name: web, from: 192.0.2.1, port: 443, interface: eth0, expect: allow }\n', []],
    ['an intent test on an undeclared name', 'tests:\n  - { name: web, from: 192.0.2.1, port: 443, interface: eth9, expect: drop }\n', ['tests.0.interface']],
    ['an intent test on lo0 (not loopback)', 'tests:\n  - { name: web, from: 192.0.2.1, port: 22, interface: lo0, expect: allow }\n', ['tests.0.interface']],
    ['a rule on an undeclared name', 'outbound:\n  - { name: x, port: 80, interface: wlan0 }\n', ['outbound.0.interface']],
  ])('%s', (_what, use, expected) => {
    const r = compile(policy(use), 'p.yaml', 'p.yaml');
    expect(r.diagnostics.filter((d) => d.severity === 'error'), JSON.stringify(r.diagnostics)).toEqual([]);
    expect(warned(use), JSON.stringify(r.diagnostics)).toEqual(expected);
  });
});
