import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastYaml, isDecimal } from '../../src/load/fast-yaml.js';
import { load } from '../../src/load/load.js';
// @ts-expect-error plain JS generator
import { ipfencePolicy } from '../../bench/generate.mjs';
import { assertOnRandomDocs, editedDocArb, policyFiles } from '../helpers/yaml-docs.js';

/** What the full parser (yaml, YAML 1.2 core, as load reads every policy it does not read fast) reads, or 'error'. */
function viaYaml(text: string): unknown {
  const r = load(text, 'p.yaml', { fastPath: false });
  return r.loaded ? { v: r.loaded.value } : 'error';
}

/** The property: the fast reader gives up, or reads exactly what the full parser reads. */
function agrees(text: string): boolean {
  const fast = fastYaml(text);
  if (!fast) return true;
  expect(viaYaml(text), text).toEqual({ v: fast.value });
  return true;
}

describe('fastYaml', () => {
  it('reads every example and fixture policy as the full parser does', () => {
    const files = [...policyFiles('examples'), ...policyFiles('test/fixtures')];
    let read = 0;
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      agrees(text);
      if (fastYaml(text)) read++;
    }
    // The subset is meant to cover how policies are written: most of ours must take it.
    expect(read).toBeGreaterThan(files.length * 0.8);
  });

  it('reads the benchmark policies (the case it exists for)', () => {
    const text = ipfencePolicy(2000) as string;
    expect(fastYaml(text)).toBeDefined();
    agrees(text);
  });

  it('on random documents in mixed styles, YAML 1.1 forms and odd line ends among them, gives up or agrees with the full parser', () => {
    // About 16% of the random documents are in the subset; see fast-positions.test.ts.
    assertOnRandomDocs(agrees, 3000, 300);
  });

  it('on random edits of valid documents, gives up or agrees', () => {
    fc.assert(fc.property(editedDocArb, agrees), { numRuns: 3000 });
  });

  it('reads as a number exactly the decimal integers the regular definition admits', () => {
    const decimal = /^(?:0|[1-9][0-9]{0,14})$/;
    const digitsAndMore = fc.string({ unit: fc.constantFrom('0', '1', '5', '9', '0', '.', '_', 'x', '-', '+', 'e', ' ', '/'), maxLength: 18 });
    const digits = fc.string({ unit: fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9'), maxLength: 18 });
    fc.assert(fc.property(fc.oneof(digits, digitsAndMore), (s) => isDecimal(s) === decimal.test(s)), { numRuns: 5000 });
    for (const s of ['0', '7', '10', '999999999999999']) expect(isDecimal(s), s).toBe(true);
    for (const s of ['', '00', '07', '1000000000000000', '1_0', '1.0']) expect(isDecimal(s), s).toBe(false);
  });

  it('reads non-ASCII text in comments, and gives up on it anywhere else', () => {
    const read = ['# Müller — café\na: 1\n', 'a: 1 # ü\n', 'a:\n  # 😀\n  - b # é\n', '- { name: x, port: 22 }  # Zoë\n', 'a: x #é\n'];
    for (const text of read) {
      expect(fastYaml(text), text).toBeDefined();
      agrees(text);
    }
    const left = ['a: é\n', "a: 'é'\n", "a: 'x' # é\n", 'a: "x" # é\n', 'a: x#é\n', 'a: [x, #é\n', '# a\u2028b\na: 1\n', '# a\u0085b\na: 1\n', '# \ufeff\na: 1\n', '# é\tx\na: 1\n'];
    for (const text of left) expect(fastYaml(text), text).toBeUndefined();
  });

  it('gives up on what it leaves to the full parsers', () => {
    for (const text of [
      '%YAML 1.1\n---\na: 022\n', '%YAML 1.2\n---\na: 1\n', 'a: !!float 22\n', 'a: 1\rb: 2\r', 'a: 1\r\nb: 2\r\n', 'a: [1,\n2]\n', 'a: 022\n', '<<: {a: 1}\n',
      'a: &x 1\nb: *x\n', 'a: !!str 1\n', 'a: |\n  x\n', 'a: >\n  x\n', 'a: "x\\ny"\n', 'a: [1,\n  2]\n', 'a: x\n  y\n',
      'a: 1\na: 2\n', 'a:\t1\n', 'a: 1_000\n', 'a: 0x1F\n', 'a: ~\n', 'a: .inf\n', '--- 1\n', 'a: 1\n---\nb: 2\n', 'é: 1\n', 'a: [b, ]\n', '? a\n: b\n',
      // Empty sequence entries followed by less indented ones ('-\n -\n- x'): yaml reads them.
      '-\n -\n- x\n', '-\n - # c\n- x\n', 'a:\n  -\n  - x\n',
    ]) {
      expect(fastYaml(text), text).toBeUndefined();
    }
  });
});
