import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';
import { PLACEHOLDER_KEYS } from '../../src/validate/prune.js';

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
  // A no-context review's cases (each failed on the first version of the rounds of pruning):
  {
    // A required key taken out with its value gets a placeholder: its rule, or the whole
    // policy for `version`, is still checked.
    name: 'an invalid version leaves the rest checked',
    text: 'version: 2\ninbound:\n  - { port: 22, from: 300.1.1.1 }\n',
    want: ['1:10 schema-value', '3:23 address-invalid'],
  },
  {
    name: "a test's invalid expect leaves its addresses checked",
    text: 'version: 1\ntests:\n  - { from: 300.1.1.1, port: 22, expect: maybe }\n',
    want: ['3:13 address-invalid', '3:42 schema-value'],
  },
  {
    // The schema says an address set is a list of values: the bad entry takes the set, and the
    // set's users are not told it is undeclared or of no family.
    name: 'a mapping in a list of values is no rule',
    text: 'version: 1\naddresses:\n  monitors: [{}]\ninbound:\n  - { proto: udp, port: 161, from: monitors }\n',
    want: ['3:14 schema-type'],
  },
  {
    name: 'a name whose declaration was pruned is not called undeclared',
    text: 'version: 1\ninterfaces: { wan: eth0, lan: "" }\naddresses:\n  inside: ["", 10.0.0.0/8]\ninbound:\n  - { port: 22, interface: lan, from: inside }\n',
    want: ['2:31 schema-value', '4:12 schema-value'],
  },
  {
    name: "the policy's own grading applies to the rest",
    text: 'version: 1\nchecks: { cidr-host-bits: off }\ninbound:\n  - { port: 22, from: 10.0.0.1/8 }\nlimits:\n  - { port: 22, rate: 5/fortnight }\n',
    want: ['6:23 schema-value'],
  },
  // A second no-context review's cases (each failed on the code before):
  {
    // Two rounds of pruning: the placeholder's mark must survive the second round's copy.
    name: "a placeholder's findings stay out however many rounds pruning takes",
    text: 'version: 1\nsnat:\n  - { out: eth0, from: "2001:db8::/32" }\nlimits:\n  - { port: 22, rate: 5/fortnight }\n',
    want: ['3:5 schema-missing-key', '5:23 schema-value'],
  },
  {
    name: "a placeholder port says nothing of the rule's protocol",
    text: 'version: 1\nforwards:\n  - { to: 10.0.0.5, proto: icmp, interface: eth0 }\n',
    want: ['3:5 schema-missing-key'],
  },
  {
    name: 'a name pruned from one map is still undeclared in the other',
    text: 'version: 1\ninterfaces: { wan: eth0, lan: "" }\ninbound:\n  - { port: 22, from: lan }\n',
    want: ['2:31 schema-value', '4:23 unknown-name'],
  },
];

describe('the value errors in the rest of an invalid policy', () => {
  for (const c of cases) {
    it(c.name, () => {
      const { diagnostics } = compile(c.text, 'p.yaml');
      expect(diagnostics.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual(c.want);
    });
  }
  it("says a route's bad address once, at the route", () => {
    // Read once per family and once for the family check, at the routes list without its index.
    const { diagnostics } = compile('version: 1\nmarks:\n  - name: m\n    mark: 1\n    table: 100\n    routes:\n      - { to: 300.8.8.8, dev: wg0 }\n', 'p.yaml');
    expect(diagnostics.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual(['7:15 address-invalid']);
  });
  it("says every route's errors, each once, when one route's address is bad", () => {
    const { diagnostics } = compile('version: 1\nmarks:\n  - name: m\n    mark: 1\n    table: 100\n    dev: wg0\n    routes:\n      - { to: 300.1.1.1, dev: wg0 }\n      - { to: 10.1.0.0/16, via: 300.2.2.2 }\n      - { to: 10.0.0.1/8 }\n', 'p.yaml');
    expect(diagnostics.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual(['8:15 address-invalid', '9:33 address-invalid', '10:15 cidr-host-bits']);
  });
  it('gives each diagnostic its path as written, not as pruned', () => {
    const { diagnostics } = compile('version: 1\ninbound:\n  - 7\n  - { port: 22, from: 10.0.0.1/8 }\n', 'p.yaml');
    expect(diagnostics.find((d) => d.code === 'cidr-host-bits')?.path).toEqual(['inbound', 1, 'from']);
  });
  it('has a placeholder for every key the schema requires', () => {
    const required = new Set<string>();
    const walk = (n: unknown): void => {
      if (Array.isArray(n)) n.forEach(walk);
      else if (n !== null && typeof n === 'object') {
        for (const [k, v] of Object.entries(n)) {
          if (k === 'required' && Array.isArray(v)) v.forEach((key) => required.add(String(key)));
          else walk(v);
        }
      }
    };
    walk(JSON.parse(readFileSync('schema/ipfence.schema.json', 'utf8')));
    expect([...required].filter((k) => !PLACEHOLDER_KEYS.includes(k))).toEqual([]);
    expect(required.size).toBeGreaterThan(10);
  });
});
