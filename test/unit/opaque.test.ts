import { describe, expect, it } from 'vitest';
import { drop, rulesetOrigin, type Match } from '../../src/model/ir.js';
import { renderLine } from '../../src/emit/iptables/render.js';
import { modelsOf } from '../../src/packet/path.js';
import { everything } from '../../src/packet/space.js';
import { tokenize } from '../helpers/restore-parse.js';
import { irOf, tcp } from '../helpers/ir.js';

/**
 * A match the model does not know (read from a host's ruleset: `-m string`, `-m recent`) is
 * representable: written back with its meaning, and never taken as deciding, so a rule holding
 * one decides no packet and hides none after it (the walk passes it by, as a rate limit's).
 */
const text: Match = { kind: 'opaque', module: 'string', args: ['--algo', 'bm', '--string', 'GET /admin x'] };

describe('an opaque match', () => {
  const ir = irOf({ filter: { INPUT: [[[tcp, text], drop]] } }, 'ipv4', { INPUT: 'ACCEPT' });
  it('is written back with its module and arguments, each one word', () => {
    const chain = ir.rulesets[0]!.tables[0]!.chains[0]!;
    const line = renderLine(chain, chain.rules[0]!, 'ipv4');
    expect(tokenize(line)).toEqual(expect.arrayContaining(['-m', 'string', '--algo', 'bm', '--string', 'GET /admin x']));
  });
  it('never decides: the walk passes its rule by', () => {
    const [model] = modelsOf(ir);
    expect(model!.box(ir.rulesets[0]!.tables[0]!.chains[0]!.rules[0]!).exact).toBe(false);
    const decided = model!.decide('filter', 'INPUT', everything('ipv4'));
    expect(decided.map((d) => d.verdict)).toEqual(['accept']);
  });
  it('can come from a line of a ruleset file, with no policy path', () => {
    expect(rulesetOrigin('rules.v4', 212, 'f2b')).toEqual({ path: [], loc: { file: 'rules.v4', line: 212, col: 1 }, label: 'f2b' });
  });
});
