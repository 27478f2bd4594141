import type { Location } from '../diagnostics/diagnostic.js';
import { SourceMap, type Path } from '../load/source-map.js';
import type { Policy } from '../model/policy.js';
import { validate, type ValidateResult } from './validate.js';

/**
 * What is valid of an invalid policy, as a policy the schema accepts, with a SourceMap that finds
 * each of its values where the author wrote it: the value errors in the rest (`port: 70000` and
 * `from: 300.1.1.1` in one rule) are worth reporting in the same run as the schema's errors.
 * Undefined when nothing valid is left. Pruning can leave a value invalid in a new way (a rule
 * without its only verdict), so it prunes again, a few rounds at most.
 */
export function validRest(value: unknown, valid: ValidateResult, source: SourceMap): { policy: Policy; source: SourceMap } | undefined {
  let rest = value;
  let at = source;
  let invalid = valid.invalid;
  for (let round = 0; round < MAX_ROUNDS && invalid !== undefined; round++) {
    const pruned = prune(rest, invalid);
    if (pruned === undefined) return undefined;
    rest = pruned.value;
    at = new PrunedSource(at, pruned.value, pruned.kept);
    const again = validate(rest, at);
    if (again.policy) return { policy: again.policy, source: at };
    invalid = again.invalid;
  }
  return undefined;
}

/** Each round removes at least one value; a policy still invalid after this many is left to the schema's errors. */
const MAX_ROUNDS = 4;

/**
 * A copy without what made it invalid: a value or unknown key goes with its key, an invalid entry
 * of a list of rules goes alone, and an invalid entry of a list of values takes the whole list.
 * `kept` gives, for each list that lost entries, the index each remaining entry had. Undefined
 * when the policy itself is invalid.
 */
function prune(value: unknown, invalid: readonly Path[]): { value: unknown; kept: WeakMap<object, readonly number[]> } | undefined {
  const copy = structuredClone(value) as Record<string, unknown>;
  const holed = new Set<unknown[]>();
  for (const path of invalid) {
    let k = path.length - 1;
    for (; k >= 0; k--) {
      let parent: unknown = copy;
      for (const seg of path.slice(0, k)) parent = parent !== null && typeof parent === 'object' ? (parent as Record<string | number, unknown>)[seg] : undefined;
      if (parent === null || typeof parent !== 'object') break;
      const rules = Array.isArray(parent) && parent.some((x) => x !== null && typeof x === 'object' && !Array.isArray(x));
      if (Array.isArray(parent) && !rules) continue;
      // A hole for now, so that the later paths' indexes still hold; closed below.
      delete (parent as Record<string | number, unknown>)[path[k]!];
      if (Array.isArray(parent)) holed.add(parent);
      break;
    }
    if (k < 0) return undefined;
  }
  const kept = new WeakMap<object, readonly number[]>();
  for (const list of holed) {
    const indexes = [...list.keys()].filter((i) => Object.hasOwn(list, i));
    const entries = indexes.map((i) => list[i]);
    list.length = 0;
    list.push(...entries);
    kept.set(list, indexes);
  }
  return { value: copy, kept };
}

/** Positions in a pruned copy: a path is turned back into the path its value had before pruning. */
class PrunedSource extends SourceMap {
  constructor(
    private readonly before: SourceMap,
    private readonly value: unknown,
    private readonly kept: WeakMap<object, readonly number[]>,
  ) {
    super(before.file, () => ({ offsetOf: () => 0, linePos: () => ({ line: 1, col: 1 }) }));
  }

  override at(path: Path, which: 'value' | 'key' = 'value'): Location {
    return this.before.at(this.original(path), which);
  }

  override localPath(path: Path): Path {
    return this.before.localPath(this.original(path));
  }

  override atOffset(offset: number): Location {
    return this.before.atOffset(offset);
  }

  private original(path: Path): Path {
    let node: unknown = this.value;
    return path.map((seg) => {
      const here = node;
      node = here !== null && typeof here === 'object' ? (here as Record<string | number, unknown>)[seg] : undefined;
      const indexes = typeof seg === 'number' && Array.isArray(here) ? this.kept.get(here) : undefined;
      return typeof seg === 'number' ? (indexes?.[seg] ?? seg) : seg;
    });
  }
}
