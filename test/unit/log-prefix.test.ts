import { describe, expect, it } from 'vitest';
import { compileText } from '../helpers/compile.js';

/** The LOG and NFLOG lines of a policy's rules.v4, each with the comment of its rule and its prefix. */
const logs = (text: string): string[] => {
  const r = compileText(text);
  if (!r.files['rules.v4']) throw new Error(r.report);
  return r.files['rules.v4'].split('\n').filter((l) => / -j (LOG|NFLOG) /.test(l)).map((l) => `${/--comment "([^"]*)"/.exec(l)?.[1]} ${/--(?:log|nflog)-prefix ("[^"]*")/.exec(l)?.[1]}`);
};

const POLICY = `version: 1
logging: { prefix: "fw-drop: "ACCEPT }
defaults: { input: drop }
users:
  - { name: nobody-out, user: 65534, log: true }
inbound:
  - { name: ssh, port: 22, log: true }
  - { name: telnet, port: 23, action: deny, log: true }
  - { name: web, port: 80, log: { prefix: "web: " } }
forwards:
  - { name: app, port: 8080, to: 10.0.0.5, interface: eth0, log: true }
`;

describe('log prefixes: accepted packets are never logged under the prefix of refused ones', () => {
  it('an allow (and a port forward) logs under "ipfence accept: " by default, a deny and the default policy under logging.prefix', () => {
    expect(logs(POLICY.replace('ACCEPT', '')).sort()).toEqual([
      'app "ipfence accept: "',
      'ipfence: INPUT policy drop "fw-drop: "',
      'nobody-out "fw-drop: "',
      'ssh "ipfence accept: "',
      'telnet "fw-drop: "',
      'web "web: "',
    ]);
  });
  it('logging.accept-prefix names the accepted ones; a rule\'s own prefix still wins', () => {
    expect(logs(POLICY.replace('ACCEPT', ', accept-prefix: "fw-ok: "')).sort()).toEqual([
      'app "fw-ok: "',
      'ipfence: INPUT policy drop "fw-drop: "',
      'nobody-out "fw-drop: "',
      'ssh "fw-ok: "',
      'telnet "fw-drop: "',
      'web "web: "',
    ]);
  });
  it('with no logging section, a deny keeps "ipfence: " and an allow gets its own', () => {
    expect(logs('version: 1\ninbound:\n  - { name: a, port: 22, log: true }\n  - { name: d, port: 23, action: deny, log: true }\n').sort()).toEqual(['a "ipfence accept: "', 'd "ipfence: "']);
  });
  it('an accept-prefix iptables would truncate is refused at logging.accept-prefix', () => {
    const r = compileText(`version: 1\nlogging:\n  accept-prefix: "${'a'.repeat(30)}"\ninbound:\n  - { port: 22, log: true }\n`);
    expect(r.report).toMatch(/^policy\.yaml:3:18: error: .*\[string-too-long\]$/m);
  });
});
