import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quoteArg, quoted } from '../../src/emit/iptables/quote.js';
import { tokenize } from '../helpers/restore-parse.js';

const CONTROL = /[\u0000-\u001f\u007f]/;
const printable = fc.string({
  unit: fc.oneof(fc.constantFrom('"', '\\', "'", ' ', '#', '-', '!'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }).filter((c) => !CONTROL.test(c))),
  maxLength: 40,
});

describe('quoting', () => {
  it('any printable string survives the round trip through iptables-restore tokenizing as exactly one argument', () => {
    fc.assert(fc.property(printable, (s) => {
      expect(tokenize(`-A INPUT -m comment --comment ${quoted(s)} -j ACCEPT`)).toEqual(['-A', 'INPUT', '-m', 'comment', '--comment', s, '-j', 'ACCEPT']);
    }), { numRuns: 2000 });
  });
  it('neutralises the measured injections', () => {
    const cases = ['x" -d 192.0.2.1 -m comment --comment "y', 'ends in backslash \\', '"', '\\"'];
    for (const c of cases) expect(tokenize(`--comment ${quoted(c)} -j DROP`)).toEqual(['--comment', c, '-j', 'DROP']);
  });
  it('refuses control characters instead of emitting them', () => {
    expect(() => quoted('a\nb')).toThrow();
    expect(() => quoted('a\rb')).toThrow();
  });
  it('leaves plain words bare and quotes anything that could be read as an option', () => {
    expect(quoteArg('eth0')).toBe('eth0');
    expect(quoteArg('-x')).toBe('"-x"');
  });
});
