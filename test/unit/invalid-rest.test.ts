import { describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';

/**
 * An invalid policy's value errors come in the same run as its schema errors, at the place the
 * author wrote them, however the invalid parts had to be taken out.
 */
const cases: readonly { name: string; text: string; want: readonly string[] }[] = [
  {
    name: 'a rule taken out leaves the later rules where they are',
    text: 'version: 1\ninbound:\n  - { bogus: 1 }\n  - 7\n  - { port: 22, from: 300.1.1.1 }\n',
    want: ['3:7 schema-unknown-key', '4:5 schema-type', '5:23 address-invalid'],
  },
  {
    // Pruning the rate leaves a limit without one, which the schema refuses in turn; the rate's
    // absence once crashed the normalizer, and that crash hid the address error below.
    name: 'what pruning leaves invalid is pruned again',
    text: 'version: 1\nlimits:\n  - { port: 22, rate: 5/fortnight }\ninbound:\n  - { port: 22, from: 300.1.1.1 }\n',
    want: ['3:23 schema-value', '5:23 address-invalid'],
  },
  {
    name: 'rules taken out of two lists, in an order that shifts each',
    text: 'version: 1\noutbound:\n  - 5\n  - { port: 80, to: 300.0.0.1 }\ninbound:\n  - { port: 70000 }\n  - { bogus: 2 }\n  - { port: 23, from: 10.0.0.1/8 }\n',
    want: ['3:5 schema-type', '4:21 address-invalid', '6:13 schema-value', '7:7 schema-unknown-key', '8:23 cidr-host-bits'],
  },
];

describe('the value errors in the rest of an invalid policy', () => {
  for (const c of cases) {
    it(c.name, () => {
      const { diagnostics } = compile(c.text, 'p.yaml');
      expect(diagnostics.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual(c.want);
    });
  }
});
