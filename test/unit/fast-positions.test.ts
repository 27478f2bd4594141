import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastYaml } from '../../src/load/fast-yaml.js';
import { parseYaml } from '../../src/load/load.js';
import { fastYamlPositions, SourceMap, yamlPositions, type Path } from '../../src/load/source-map.js';
// @ts-expect-error plain JS generator
import { ipfencePolicy } from '../../bench/generate.mjs';
import { assertOnRandomDocs, editedDocArb, policyFiles } from '../helpers/yaml-docs.js';

const viaYaml = (text: string) =>
  new SourceMap('p.yaml', () => {
    const { doc, lines } = parseYaml(text);
    return yamlPositions(doc, lines);
  });
const viaFast = (text: string) =>
  new SourceMap('p.yaml', () => {
    const p = fastYamlPositions(text);
    if (!p) throw new Error('fastYamlPositions gave up on a text fastYaml reads');
    return p;
  });

/** Every path into the value, plus paths that miss (an absent key, an index past the end, a step into a scalar). */
function paths(v: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix, [...prefix, 'absent'], [...prefix, 99]];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

/** The property: wherever fastYaml reads a text, both ways of locating give the same line and column for every path. */
function samePositions(text: string): boolean {
  const read = fastYaml(text);
  if (!read) return true;
  const a = viaYaml(text);
  const b = viaFast(text);
  for (const p of paths(read.value)) {
    for (const which of ['value', 'key'] as const) expect(b.at(p, which), `${JSON.stringify(p)} ${which} in\n${text}`).toEqual(a.at(p, which));
  }
  return true;
}

describe('positions from fastYaml', () => {
  it('match yaml on every path of random documents in mixed styles', () => {
    // About 16% of the random documents are in the subset (2000 runs: 270 to 350 read); the bound
    // only has to rule out a property that holds by reading nothing.
    assertOnRandomDocs(samePositions, 2000, 200);
  });

  it('match yaml on every path of randomly edited documents', () => {
    fc.assert(fc.property(editedDocArb, samePositions), { numRuns: 2000 });
  });

  it('match yaml on every example and fixture policy and on a benchmark policy', () => {
    for (const f of policyFiles('examples').concat(policyFiles('test/fixtures'))) samePositions(readFileSync(f, 'utf8'));
    samePositions(ipfencePolicy(300) as string);
  });

  it('match yaml in a long entry, which is kept once read, and in the short ones around it', () => {
    // 600 addresses in block style make one entry of about 12,000 characters: every path into it
    // asks for that entry again.
    const long = Array.from({ length: 600 }, (_, i) => `      - 10.0.${i >> 8}.${i & 255}\n`).join('');
    const text = `inbound:\n  - { name: a, port: 22 }\n  - name: b\n    port: 80\n    from:\n${long}    action: allow\n  - { name: c, port: 443 }\n`;
    expect(text.length).toBeGreaterThan(8192);
    samePositions(text);
  });

  it('read a block sequence entry only when a position in it is asked for', () => {
    // The second entry has an anchor, outside the subset: a reading of every entry would give up
    // on the whole text. Read lazily, the first and third entries are found and the second throws
    // (fastPositions is only for texts fastYaml reads, where that cannot happen).
    const text = 'inbound:\n  - { port: 22 }\n  - &x { port: 80 }\n  - { port: 443 }\n';
    expect(fastYaml(text)).toBeUndefined();
    const p = fastYamlPositions(text);
    if (!p) throw new Error('fastYamlPositions gave up before any entry was asked for');
    expect(p.linePos(p.offsetOf(['inbound', 2, 'port'], 'value'))).toEqual({ line: 4, col: 13 });
    expect(p.linePos(p.offsetOf(['inbound', 0, 'port'], 'key'))).toEqual({ line: 2, col: 7 });
    expect(() => p.offsetOf(['inbound', 1, 'port'], 'value')).toThrow(/outside fastYaml's subset/);
  });

  it('locate a rule deep in a large policy without yaml', () => {
    const text = ipfencePolicy(20000) as string;
    // inbound[0] is ssh on line 4; rule r15000 is inbound[15001], on line 15005.
    const at = viaFast(text).at(['inbound', 15001, 'from', 1]);
    const line = text.split('\n')[15004]!;
    expect(line).toContain('name: r15000,');
    expect(at).toEqual({ file: 'p.yaml', line: 15005, col: line.indexOf('"2001') + 1 });
  });
});
