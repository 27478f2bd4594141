import { describe, expect, it } from 'vitest';
import { accept, chain, jump, rule, table } from '../../src/model/ir.js';
import { ChainGraph } from '../../src/packet/chain-graph.js';
import { origin } from '../helpers/ir.js';

const to = (name: string) => rule([], jump(name), origin);

// A coexist-shaped filter table: chains hooked in at INPUT's start and end around the built-in
// chain, a jump loop (a -> b -> a), and a chain nothing reaches.
const filter = table('filter', [
  chain('INPUT', 'DROP', [to('a')]),
  chain('END', null, [rule([], accept, origin)], ['INPUT'], 'end'),
  chain('START', null, [to('c')], ['INPUT', 'FORWARD']),
  chain('a', null, [to('b')]),
  chain('b', null, [to('a')]),
  chain('c', null, []),
  chain('lonely', null, []),
]);

describe('ChainGraph', () => {
  const g = new ChainGraph(filter);
  it("enters a hook's chains in the order packets meet them: hooked at the start, built-in, hooked at the end", () => {
    expect(g.entries('INPUT').map((c) => c.name)).toEqual(['START', 'INPUT', 'END']);
    expect(g.entries('FORWARD').map((c) => c.name)).toEqual(['START']);
    expect(g.entries('OUTPUT')).toEqual([]);
  });
  it('reaches every chain a jump leads to, through loops', () => {
    expect([...g.reachedFrom('INPUT')].sort()).toEqual(['END', 'INPUT', 'START', 'a', 'b', 'c']);
    expect([...g.reachedFrom('FORWARD')].sort()).toEqual(['START', 'c']);
  });
  it('says which hooks reach a chain, and which chains are jumped to', () => {
    expect([...g.hooksOf('c')].sort()).toEqual(['FORWARD', 'INPUT']);
    expect([...g.hooksOf('b')]).toEqual(['INPUT']);
    expect([...g.hooksOf('lonely')]).toEqual([]);
    expect([...g.jumpedTo()].sort()).toEqual(['a', 'b', 'c']);
  });
});
