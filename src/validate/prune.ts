import type { Location } from '../diagnostics/diagnostic.js';
import { SourceMap, type Path } from '../load/source-map.js';
import { FAMILY_NAMES, familyRecord } from '../model/family.js';
import { pathKey, valueAt } from '../model/path.js';
import type { Policy } from '../model/policy.js';
import { policySchema } from '../util/package-root.js';
import { validate, type ValidateResult } from './validate.js';

/** The rest of an invalid policy, as the schema accepts it (see validRest). */
export interface Rest {
  readonly policy: Policy;
  readonly source: SourceMap;
  /** The path a value of the rest has in the policy as written. */
  readonly authorPath: (path: Path) => Path;
  /** Whether a diagnostic at `path` (of the rest) is about a placeholder, not about what the author wrote. */
  readonly aboutPlaceholder: (path: Path) => boolean;
}

/**
 * What is valid of an invalid policy, as a policy the schema accepts, with a SourceMap that finds
 * each of its values where the author wrote it: the value errors in the rest (`port: 70000` and
 * `from: 300.1.1.1` in one rule) are worth reporting in the same run as the schema's errors.
 * Undefined when nothing valid is left. An invalid value goes (with a list of values it is in);
 * an invalid entry of a list of rules goes alone; a required key that is missing, or goes with its
 * invalid value, gets a placeholder (PLACEHOLDERS), so that the rest of its rule is still checked.
 * What is left can be invalid in a new way, so it is pruned again, a few rounds at most.
 */
export function validRest(value: unknown, valid: ValidateResult, source: SourceMap): Rest | undefined {
  let rest = value;
  let at: SourceMap = source;
  let { invalid, missing } = valid;
  const filled = new WeakMap<object, string[]>();
  for (let round = 0; round < MAX_ROUNDS && invalid !== undefined; round++) {
    const pruned = prune(rest, invalid, missing ?? [], filled);
    if (pruned === undefined) return undefined;
    rest = pruned.value;
    const here = new PrunedSource(at, pruned.value, pruned.kept);
    at = here;
    const again = validate(rest, at);
    if (again.policy) {
      const policy = again.policy;
      return { policy, source: at, authorPath: (path) => here.authorPath(path), aboutPlaceholder: (path) => aboutPlaceholder(policy, filled, path) };
    }
    ({ invalid, missing } = again);
  }
  return undefined;
}

/**
 * A stand-in for each required key of the schema (test/invalid-rest.test.ts holds the list to the
 * schema's): valid, and as plain as the key allows. An address takes the rule's family.
 */
const PLACEHOLDERS: Readonly<Record<string, (rule: Record<string, unknown>) => unknown>> = {
  version: () => 1,
  rate: () => '1/second',
  port: () => 1,
  'to-port': () => 1,
  mark: () => 1,
  expect: () => 'allow',
  out: () => 'lo',
  helper: () => 'ftp',
  to: (rule) => addressOf(rule),
  from: (rule) => addressOf(rule),
  'to-source': (rule) => addressOf(rule),
};
/** An address of the rule's family (its `family:`, else the first): the family's loopback address. */
const addressOf = (rule: Record<string, unknown>): string => familyRecord(FAMILY_NAMES.find((f) => f === rule.family) ?? FAMILY_NAMES[0]!).loopback;
export const PLACEHOLDER_KEYS: readonly string[] = Object.keys(PLACEHOLDERS);

/** The keys whose findings a placeholder takes part in: a port's protocol (`port-needs-proto` at `proto`). */
const TOUCHES: Readonly<Record<string, readonly string[]>> = { port: ['proto'], 'to-port': ['proto'] };

/** A diagnostic at a placeholder, at a key it takes part in, or at the object that holds one (its family, say), is not the author's. */
function aboutPlaceholder(policy: Policy, filled: WeakMap<object, string[]>, path: Path): boolean {
  let node: unknown = policy;
  for (let i = 0; i <= path.length; i++) {
    const keys = node !== null && typeof node === 'object' ? filled.get(node) : undefined;
    const touched = keys?.flatMap((k) => [k, ...(TOUCHES[k] ?? [])]);
    if (touched !== undefined && (i === path.length || touched.includes(String(path[i])))) return true;
    if (i < path.length) node = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[path[i]!] : undefined;
  }
  return false;
}

/** Each round removes at least one value; a policy still invalid after this many is left to the schema's errors. */
const MAX_ROUNDS = 4;

/**
 * A copy without what made it invalid: a missing required key gets its placeholder, a value or
 * unknown key goes with its key, an invalid entry of a list of rules goes alone, and an invalid
 * entry of a list of values takes the whole list. The holes entries leave are closed; `kept`
 * gives, for each list that lost entries, the index each remaining entry had. Undefined when the
 * policy itself is invalid.
 */
function prune(value: unknown, invalid: readonly Path[], missing: readonly Path[], filled: WeakMap<object, string[]>): { value: unknown; kept: WeakMap<object, readonly number[]> } | undefined {
  const copy = cloneKeeping(value, filled) as Record<string, unknown>;
  const holed = new Set<unknown[]>();
  // Placeholders first: the object they complete is then no longer taken out for lacking them.
  const completed = new Set<string>();
  for (const path of missing) {
    const key = String(path[path.length - 1]);
    const place = valueAt(copy, path.slice(0, -1));
    const make = PLACEHOLDERS[key];
    if (make === undefined || place === null || typeof place !== 'object' || Array.isArray(place)) continue;
    (place as Record<string, unknown>)[key] = make(place as Record<string, unknown>);
    filled.set(place, [...(filled.get(place) ?? []), key]);
    completed.add(pathKey(path.slice(0, -1)));
  }
  for (const path of invalid) {
    if (completed.has(pathKey(path))) continue;
    let k = path.length - 1;
    for (; k >= 0; k--) {
      const parent = valueAt(copy, path.slice(0, k));
      if (parent === null || typeof parent !== 'object') break;
      if (Array.isArray(parent) && !listOfMappings(path.slice(0, k))) continue;
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

/**
 * A deep copy of a value read from YAML (mappings, lists, scalars) that carries the placeholder
 * marks over: the next round's objects are new, and a mark left on the old one would let its
 * placeholder's findings through.
 */
function cloneKeeping(value: unknown, filled: WeakMap<object, string[]>): unknown {
  if (value === null || typeof value !== 'object') return value;
  const copy: unknown = Array.isArray(value) ? value.map((x) => cloneKeeping(x, filled)) : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cloneKeeping(v, filled)]));
  const marks = filled.get(value);
  if (marks !== undefined) filled.set(copy as object, marks);
  return copy;
}

type SchemaNode = { $ref?: string; type?: string | string[]; properties?: Record<string, SchemaNode>; items?: SchemaNode; oneOf?: SchemaNode[]; anyOf?: SchemaNode[]; additionalProperties?: SchemaNode | boolean };

/**
 * Whether the schema makes the list at `path` a list of mappings (rules, exceptions, routes): an
 * invalid entry of one goes alone. Asked of the schema, not of the entries: `[{}]` where
 * addresses belong is a list of values with a wrong entry.
 */
function listOfMappings(path: Path): boolean {
  const root = policySchema() as SchemaNode & { definitions: Record<string, SchemaNode> };
  const resolve = (n: SchemaNode | undefined): SchemaNode[] => {
    if (n === undefined) return [];
    const r = n.$ref ? root.definitions[n.$ref.replace('#/definitions/', '')] : n;
    return r === undefined ? [] : [r, ...(r.oneOf ?? []).flatMap(resolve), ...(r.anyOf ?? []).flatMap(resolve)];
  };
  let nodes = resolve(root);
  for (const seg of path) {
    nodes = nodes.flatMap((n) => (typeof seg === 'number' ? resolve(n.items) : resolve(n.properties?.[seg] ?? (typeof n.additionalProperties === 'object' ? n.additionalProperties : undefined))));
  }
  return nodes.some((n) => resolve(n.items).some((item) => item.properties !== undefined));
}

/** Positions in a pruned copy: a path is turned back into the path its value had before pruning. */
export class PrunedSource extends SourceMap {
  constructor(
    private readonly before: SourceMap,
    private readonly value: unknown,
    private readonly kept: WeakMap<object, readonly number[]>,
  ) {
    super(before.file, () => ({ offsetOf: () => 0, linePos: () => ({ line: 1, col: 1 }) }));
  }

  override at(path: Path, which: 'value' | 'key' = 'value'): Location {
    return this.before.at(this.previousPath(path), which);
  }

  override localPath(path: Path): Path {
    return this.before.localPath(this.previousPath(path));
  }

  override atOffset(offset: number): Location {
    return this.before.atOffset(offset);
  }

  /** The path the value at `path` has in the policy as written (through every round of pruning). */
  authorPath(path: Path): Path {
    const before = this.previousPath(path);
    return this.before instanceof PrunedSource ? this.before.authorPath(before) : before;
  }

  /** The path the value at `path` had before this round of pruning. */
  private previousPath(path: Path): Path {
    let node: unknown = this.value;
    return path.map((seg) => {
      const here = node;
      node = here !== null && typeof here === 'object' ? (here as Record<string | number, unknown>)[seg] : undefined;
      const indexes = typeof seg === 'number' && Array.isArray(here) ? this.kept.get(here) : undefined;
      return typeof seg === 'number' ? (indexes?.[seg] ?? seg) : seg;
    });
  }
}
