import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FORMATS } from '../../src/cli/formatters/index.js';
import { main } from '../../src/cli/main.js';
import { IPV4, IPV6 } from '../../src/model/family.js';
import { SERVICES } from '../../src/model/services.js';
import { compile } from '../../src/pipeline.js';
import { checkoutTmp, memoryIO } from '../helpers/io.js';

/**
 * Names from JavaScript's object model, wherever a table is indexed by text from a policy or a
 * command line: each is an unknown name (a positioned error, or a usage error), or, where any
 * name is allowed (an address or interface alias), a name like any other. Never an internal
 * error, and never a silent match of everything (an ICMP type `toString` was "any ICMP" in a test).
 */
const WORDS = ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];
// Inside the checkout: ipfence reads only files of the directory it runs in.
const tmp = checkoutTmp('ipfence-proto-');

async function check(text: string, ...extra: string[]) {
  const p = join(tmp, 'p.yaml');
  writeFileSync(p, text);
  const { io, out } = memoryIO();
  const code = await main(['check', p, '-f', 'json', ...extra], io);
  return { code, out };
}

/** Where user text indexes a table, the policy that puts the word there, and the code it must be refused with. */
const REFUSED: readonly (readonly [string, (w: string) => string, string, number])[] = [
  ['an inbound ICMP type', (w) => `version: 1\ninbound:\n  - { proto: icmp, icmp-type: ${w} }\n`, 'icmp-type-invalid', 3],
  ['an outbound ICMP type', (w) => `version: 1\noutbound:\n  - { proto: icmp, icmp-type: ${w} }\n`, 'icmp-type-invalid', 3],
  ["a test's ICMP type", (w) => `version: 1\ntests:\n  - { name: t, proto: icmp, icmp-type: ${w}, expect: allow }\n`, 'icmp-type-invalid', 3],
  ['a service', (w) => `version: 1\ninbound:\n  - { service: ${w} }\n`, 'service-unknown', 3],
  ["a test's service", (w) => `version: 1\ntests:\n  - { name: t, service: ${w}, expect: allow }\n`, 'service-unknown', 3],
  ['a rate unit', (w) => `version: 1\nlimits:\n  - { port: 22, rate: 5/${w} }\n`, '', 3],
  ['a protocol', (w) => `version: 1\ninbound:\n  - { proto: ${w}, port: 22 }\n`, '', 3],
  ["a test's expectation", (w) => `version: 1\ntests:\n  - { name: t, port: 22, expect: ${w} }\n`, '', 3],
  ['a helper', (w) => `version: 1\nhelpers:\n  - { helper: ${w} }\n`, '', 3],
  ['a default', (w) => `version: 1\ndefaults: { input: ${w} }\n`, '', 2],
  ['a root key', (w) => `version: 1\n${w}: 1\n`, 'schema-unknown-key', 2],
];

describe('names from the object model, at every lookup of user text', () => {
  it.each(REFUSED)('%s: refused at its line, never an internal error', async (_what, policy, code, line) => {
    for (const w of WORDS) {
      const r = await check(policy(w));
      expect(r.code, `${w}: ${r.out.stdout}${r.out.stderr}`).toBe(1);
      const ds = JSON.parse(r.out.stdout) as { code: string; line: number; severity: string }[];
      const errors = ds.filter((d) => d.severity === 'error');
      expect(errors.length, w).toBeGreaterThan(0);
      if (code !== '') expect(errors.map((d) => d.code), w).toContain(code);
      expect(errors.map((d) => d.line), w).toContain(line);
    }
  });

  it('as a name the author chose (an address, an interface alias, a service of its own, a variable), it is a name like any other', async () => {
    for (const w of WORDS) {
      // An interface alias starts with a letter (`__proto__` is refused as any `_x` is).
      const alias = /^[a-z]/i.test(w) ? w : 'x';
      const text = `version: 1\naddresses:\n  ${w}: [192.0.2.7]\ninterfaces:\n  ${alias}: eth3\nvariables:\n  ${w}: 2222\ninbound:\n  - { name: r, port: "\${${w}}", from: ${w}, interface: ${alias} }\n`;
      const r = compile(text, 'p.yaml');
      expect(r.diagnostics.filter((d) => d.severity === 'error'), w).toEqual([]);
      expect(r.artifacts!.find((a) => a.file === 'rules.v4')!.content, w).toContain('-A IPFENCE-INPUT -s 192.0.2.7/32 -i eth3 -p tcp -m tcp --dport 2222');
    }
  });

  it('from an included file too: a map entry is an own entry, and a root key is an unknown key', () => {
    for (const w of WORDS) {
      const includes = new Map([['shared/a.yaml', { text: `addresses:\n  ${w}: [192.0.2.7]\n`, hash: '' }]]);
      const r = compile(`version: 1\ninclude: ../shared/a.yaml\n${w}: 1\ninbound:\n  - { name: r, port: 22, from: ${w} }\n`, 'hosts/h.yaml', 'h.yaml', { includes });
      expect(r.diagnostics.map((d) => `${d.line} ${d.code}`), w).toEqual(['3 schema-unknown-key']);
      const fixed = compile(`version: 1\ninclude: ../shared/a.yaml\ninbound:\n  - { name: r, port: 22, from: ${w} }\n`, 'hosts/h.yaml', 'h.yaml', { includes });
      expect(fixed.artifacts!.find((a) => a.file === 'rules.v4')!.content, w).toContain('-A IPFENCE-INPUT -s 192.0.2.7/32 -p tcp');
    }
  });

  it('on the command line: a format, and explain\'s packet words', async () => {
    for (const w of WORDS) {
      const { io, out } = memoryIO();
      expect(await main(['check', 'examples/web-server.yaml', '--format', w], io), w).toBe(2);
      expect(out.stderr).toContain(`unknown --format '${w}'`);
    }
  });

  it('every table indexed by user text has no prototype to answer from', () => {
    for (const table of [IPV4.icmp, IPV6.icmp, SERVICES, FORMATS]) {
      expect(Object.getPrototypeOf(table)).toBe(null);
      for (const w of WORDS) expect((table as Record<string, unknown>)[w], w).toBeUndefined();
    }
  });
});
