import type { Family, IR } from '../model/ir.js';
import { cidrTextInterval } from '../values/addresses.js';
import { normalizeSet, type Interval } from '../values/intervals.js';
import type { SetContents } from './space.js';

/** The addresses of the IR's ipsets of one family, for the model: a `-m set` match is then exact. */
export function setContents(ir: IR, family: Family): SetContents {
  const byName = new Map(ir.sets.filter((s) => s.family === family).map((s) => [s.name, s.entries] as const));
  const cache = new Map<string, ReturnType<SetContents>>();
  return (name) => {
    if (!cache.has(name)) {
      const entries = byName.get(name);
      const intervals = entries?.map(cidrTextInterval);
      cache.set(name, intervals === undefined || intervals.some((i) => i === null) ? undefined : normalizeSet(intervals as Interval[]));
    }
    return cache.get(name);
  };
}
