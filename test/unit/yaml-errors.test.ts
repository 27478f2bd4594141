import { describe, expect, it } from 'vitest';
import { load } from '../../src/load/load.js';

/** The load's diagnostics as `line:col code message`, and their related places. */
const problems = (text: string) => load(text, 'policy.yaml').diagnostics.map((d) => ({ at: `${d.line}:${d.col}`, code: d.code, message: d.message, related: d.related?.map((r) => `${r.line}:${r.col} ${r.message}`) }));

describe('YAML errors in the words of a policy', () => {
  it.each([
    ['a section written twice', 'version: 1\ninbound:\n  - { port: 22 }\ninbound:\n  - { port: 23 }\n', '4:1', "duplicate key 'inbound' (first at policy.yaml:2:1)", '2:1'],
    ['a key twice in one rule', 'version: 1\ninbound:\n  - name: ssh\n    port: 22\n    port: 2222\n', '5:5', "duplicate key 'port' (first at policy.yaml:4:5)", '4:5'],
    ['a key twice in a flow mapping', 'version: 1\ninbound:\n  - { port: 22, proto: tcp, port: 23 }\n', '3:29', "duplicate key 'port' (first at policy.yaml:3:7)", '3:7'],
    ['a quoted twin', 'version: 1\ndefaults: { input: drop }\n"defaults": { output: drop }\n', '3:1', "duplicate key 'defaults' (first at policy.yaml:2:1)", '2:1'],
  ])('%s: names the key and where it was first', (_name, text, at, start, first) => {
    const [p, ...rest] = problems(text);
    expect(rest).toEqual([]);
    expect(p).toMatchObject({ at, code: 'yaml-duplicate-key' });
    expect(p!.message.startsWith(start), p!.message).toBe(true);
    expect(p!.message).not.toMatch(/Map keys/);
    expect(p!.related).toEqual([`${first} '${/'([^']+)'/.exec(start)![1]}' first`]);
  });

  it.each([
    // One more space than the rule's keys: yaml says "Nested mappings are not allowed in compact mappings".
    ['more than its neighbours', 'version: 1\ninbound:\n  - name: ssh\n     port: 22\n', '4:6', "line 4 is indented 5 spaces, which lines up with no key above it; indent it 4 spaces for a key beside 'name' (line 3), or 2 for a new item of the list on line 3, or 0 for a key beside 'inbound' (line 2)"],
    // One less: yaml says "Sequence item without - indicator".
    ['between the dash and the keys', 'version: 1\ninbound:\n  - port: 22\n   proto: tcp\n', '4:4', "line 4 is indented 3 spaces, which lines up with no key above it; indent it 4 spaces for a key beside 'port' (line 3), or 2 for a new item of the list on line 3, or 0 for a key beside 'inbound' (line 2)"],
    ['at the dashes, without one', 'version: 1\ninbound:\n  - port: 22\n  proto: tcp\n', '4:3', "line 4 is indented 2 spaces, where the items of the list on line 3 start, but has no '- '; start it with '- ' for a new item, or indent it 4 spaces for a key beside 'port' (line 3), or 0 for a key beside 'inbound' (line 2)"],
    // "All mapping items must start at the same column".
    ['less than the mapping it ends', 'version: 1\ndefaults:\n    input: drop\n  output: drop\n', '4:3', "line 4 is indented 2 spaces, which lines up with no key above it; indent it 4 spaces for a key beside 'input' (line 3), or 0 for a key beside 'defaults' (line 2)"],
    ['a top-level key indented', 'version: 1\n inbound:\n  - { port: 22 }\n', '2:2', "line 2 is indented 1 space, which lines up with no key above it; indent it 0 spaces for a key beside 'version' (line 1)"],
    ['past comments and blank lines', 'version: 1\ndefaults:\n  input: drop\n\n  # the rest\n   output: drop\n', '6:4', "line 6 is indented 3 spaces, which lines up with no key above it; indent it 2 spaces for a key beside 'input' (line 3), or 0 for a key beside 'defaults' (line 2)"],
  ])('bad indentation, %s: one error at the line, with the indentations that would be right', (_name, text, at, message) => {
    expect(problems(text)).toEqual([{ at, code: 'yaml-syntax', message, related: undefined }]);
  });

  it('a tab says to indent with spaces', () => {
    expect(problems('version: 1\ninbound:\n\t- { port: 22 }\n')).toMatchObject([{ at: '3:1', code: 'yaml-syntax', message: 'Tabs are not allowed as indentation; indent with spaces' }]);
  });

  // The hint reads at most 200 lines up, and repeated keys are indexed once: an error on every
  // other line of a long file costs what parsing it does (about 2 s here for 20,000 of them).
  it('says it for every one of thousands of misindented lines, in bounded time', () => {
    const rules = Array.from({ length: 10_000 }, (_, i) => `  - name: r${i}\n${i % 2 ? '     ' : '    '}port: ${1000 + (i % 60000)}\n`).join('');
    const started = performance.now();
    const found = problems(`version: 1\ninbound:\n${rules}`);
    expect(found.length).toBe(5_000);
    expect(found.every((p) => p.code === 'yaml-syntax' && /^line \d+ is indented 5 spaces/.test(p.message))).toBe(true);
    expect(performance.now() - started).toBeLessThan(20_000);
  });
});
