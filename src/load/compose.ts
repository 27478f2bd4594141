import { diag, type Diagnostic, type Location, type Related } from '../diagnostics/diagnostic.js';
import type { Path } from '../model/path.js';
import type { Policy } from '../model/policy.js';
import { resolveInclude } from './include-path.js';
import { load, type Loaded } from './load.js';
import { SourceMap } from './source-map.js';

/** The files a policy's includes name, read beforehand (reading is the CLI's): text, or why not. */
export type IncludeSet = ReadonlyMap<string, { readonly text: string; readonly hash: string; readonly id?: string } | { readonly error: string }>;

/**
 * The root policy as the CLI read it: its path relative to the working directory (which its
 * includes are relative to, whatever spelling named it: `./p.yaml`, an absolute path) and the
 * file's identity (device and inode; an include's `id` is the same kind). Two names of one file
 * are one file: included once, and a loop when it includes itself.
 */
export interface RootIdentity {
  readonly path?: string;
  readonly id?: string;
}

/** Values for `${name}` given from outside the policy (an inventory's group and host variables), each with where it is written. */
export type VariableTable = ReadonlyMap<string, { readonly value: unknown; readonly at: Location }>;

/** An include named from outside the policy (an inventory group's), placed before the policy's own. */
export interface ExtraInclude {
  readonly spec: string;
  /** The file whose directory the spec is relative to, and where it is written (for diagnostics). */
  readonly base: string;
  readonly at: Location;
}

/**
 * What an included file may do with each key of a policy: `list`, its rules are joined (the
 * included files' first, in the order of `include:`, then the file's own); `map`, its entries are
 * joined by name (one name defined twice with different values is an error naming both); `own`,
 * it belongs to the host's own policy and cannot be included; `file`, a key of every file
 * (`version`, `include`). A new section of the policy fails to compile until it is listed here.
 */
const INCLUDED_AS = {
  inbound: 'list', outbound: 'list', forward: 'list', users: 'list', limits: 'list', redirects: 'list', marks: 'list', masquerade: 'list', snat: 'list', forwards: 'list', notrack: 'list', helpers: 'list', tests: 'list',
  addresses: 'map', services: 'map', interfaces: 'map', variables: 'map', defaults: 'map', logging: 'map', checks: 'map',
  host: 'own', ownership: 'own', coexist: 'own', docker: 'own',
  version: 'file', include: 'file',
} as const satisfies Record<keyof Policy, 'list' | 'map' | 'own' | 'file'>;
const sectionsIncluded = (as: 'list' | 'map' | 'file'): string[] => Object.entries(INCLUDED_AS).flatMap(([key, how]) => (how === as ? [key] : []));
const LIST_SECTIONS = sectionsIncluded('list');
const MAP_SECTIONS = sectionsIncluded('map');
const INCLUDABLE = new Set([...LIST_SECTIONS, ...MAP_SECTIONS, ...sectionsIncluded('file')]);
/** Includes deeper than this are a loop's symptom or a mistake. */
const MAX_DEPTH = 16;
const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_-]*)\}/g;
/**
 * How much `${name}` may put into a policy, counted as the text of what each reference stands
 * for: as much as the largest policy file read by default (`--max-bytes`, 32 MiB). A list used as
 * a value is shared, not copied, but every later stage reads it once per reference.
 */
const MAX_VARIABLE_BYTES = 32 * 1024 * 1024;

export interface Composed {
  readonly loaded?: Loaded;
  readonly diagnostics: readonly Diagnostic[];
  /** The files read, in the order they were met (the root first), for the headers' hash. */
  readonly files: readonly string[];
}

interface Part {
  /** The path its includes are relative to. */
  readonly file: string;
  readonly root: boolean;
  readonly source: SourceMap;
  readonly value: Record<string, unknown>;
}

/**
 * One policy from a file and the files it includes, with `${name}` replaced by the variables'
 * values: the value later stages validate and compile, and a SourceMap that gives every path the
 * position in the file where its text is. A diagnostic in an included file names the chain of
 * includes that led there. Include loops and conflicting definitions are errors naming both
 * places; a file included twice is read once.
 */
export function compose(root: Loaded, rootFile: string, includes: IncludeSet, variables: VariableTable = new Map(), extra: readonly ExtraInclude[] = [], identity: RootIdentity = {}): Composed {
  const diagnostics: Diagnostic[] = [];
  const includedFrom = new Map<string, Location>();
  const files: string[] = [rootFile];
  const rootPath = identity.path ?? rootFile;
  const rootKey = identity.id ?? rootPath;
  // One key per file, not per name: the file's identity when the CLI read it.
  const keyOf = (path: string): string => {
    if (path === rootPath) return rootKey;
    const read = includes.get(path);
    return read !== undefined && 'id' in read && read.id !== undefined ? read.id : path;
  };
  const seen = new Set<string>([rootKey]);
  const lists = new Map<string, { source: SourceMap; index: number }[]>();
  const owners = new Map<string, Map<string, { source: SourceMap; value: unknown }>>();
  const merged: Record<string, unknown> = {};
  const report = (at: Location, message: string, related?: Related[]) => diagnostics.push(diag('include-invalid', at, message, related));

  const visit = (part: Part, stack: readonly { readonly path: string; readonly key: string }[], before: readonly ExtraInclude[]): void => {
    const own = part.value.include;
    const specs: { spec: string; base: string; at: Location }[] = [...before];
    if (own !== undefined) {
      const list = typeof own === 'string' ? [own] : Array.isArray(own) ? own : null;
      if (list === null || list.some((x) => typeof x !== 'string')) report(part.source.at(['include']), '`include` is a file or a list of files (relative .yaml paths)');
      else list.forEach((spec: string, i) => specs.push({ spec, base: part.file, at: part.source.at(typeof own === 'string' ? ['include'] : ['include', i]) }));
    }
    for (const { spec, base, at } of specs) {
      const where = resolveInclude(base, spec);
      if ('error' in where) {
        report(at, where.error);
        continue;
      }
      const key = keyOf(where.path);
      const loop = stack.findIndex((s) => s.key === key);
      if (loop >= 0) {
        const first = includedFrom.get(stack[loop]!.path);
        report(at, `including '${spec}' makes a loop: ${[...stack.slice(loop).map((s) => s.path), where.path].join(' -> ')}`, first ? [{ ...first, message: `'${stack[loop]!.path}' is first included here` }] : []);
        continue;
      }
      if (seen.has(key)) continue;
      if (stack.length >= MAX_DEPTH) {
        report(at, `includes nest deeper than ${MAX_DEPTH} files here`);
        continue;
      }
      seen.add(key);
      const read = includes.get(where.path);
      if (read === undefined || 'error' in read) {
        // A file that cannot be read is an I/O failure (exit 2), as the policy itself would be.
        diagnostics.push(diag('io-read', at, `cannot read the included file '${where.path}': ${read && 'error' in read ? read.error : 'it was not read'}`));
        continue;
      }
      includedFrom.set(where.path, at);
      files.push(where.path);
      const loaded = load(read.text, where.path);
      if (!loaded.loaded) {
        diagnostics.push(...loaded.diagnostics);
        continue;
      }
      const value = loaded.loaded.value;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        report(loaded.loaded.source.at([]), 'an included file is a mapping of sections (addresses, services, inbound, ...)');
        continue;
      }
      const v = value as Record<string, unknown>;
      const bad = Object.keys(v).find((k) => !INCLUDABLE.has(k));
      if (bad !== undefined) {
        report(loaded.loaded.source.at([bad], 'key'), `'${bad}' cannot be included: it belongs to the host's own policy (an included file holds ${[...MAP_SECTIONS, ...LIST_SECTIONS].join(', ')} and include)`);
        continue;
      }
      visit({ file: where.path, root: false, source: loaded.loaded.source, value: v }, [...stack, { path: where.path, key }], []);
    }
    take(part);
  };

  /** Adds one file's own sections to the merged policy, after those of its includes. */
  const take = (part: Part): void => {
    for (const [key, value] of Object.entries(part.value)) {
      if (key === 'include') continue;
      if (LIST_SECTIONS.includes(key) && Array.isArray(value)) {
        const list = (Object.hasOwn(merged, key) ? merged[key] : (merged[key] = [])) as unknown[];
        const at = lists.get(key) ?? [];
        lists.set(key, at);
        value.forEach((item, index) => {
          list.push(item);
          at.push({ source: part.source, index });
        });
      } else if (MAP_SECTIONS.includes(key) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const target = (Object.hasOwn(merged, key) ? merged[key] : (merged[key] = {})) as Record<string, unknown>;
        const byName = owners.get(key) ?? new Map<string, { source: SourceMap; value: unknown }>();
        owners.set(key, byName);
        for (const [name, v] of Object.entries(value)) {
          const first = byName.get(name);
          if (first && JSON.stringify(first.value) !== JSON.stringify(v)) {
            report(part.source.at([key, name], 'key'), `\`${key}.${name}\` is defined twice, differently; define it once (or give the two different names)`, [{ ...first.source.at([key, name], 'key'), message: 'the other definition' }]);
            continue;
          }
          if (!first) byName.set(name, { source: part.source, value: v });
          // An own entry whatever its name: `__proto__: [...]` is an address name, not a prototype.
          Object.defineProperty(target, name, { value: v, enumerable: true, writable: true, configurable: true });
        }
      } else if (part.root) {
        // The host's own keys, its `version`, and a section of a shape the schema will report: the
        // root's value is the policy's, whatever its includes hold, so a malformed section (`inbound:`
        // as a mapping, `defaults: drop`) is the same error at the same place as without includes.
        // As an own property whatever the key is called (`__proto__` would set the prototype).
        Object.defineProperty(merged, key, { value, enumerable: true, writable: true, configurable: true });
      } else if (key === 'version') {
        // The version of the language the file is written in; the policy's is the root's own.
        if (value !== 1) report(part.source.at([key]), `an included file's \`version\` must be 1 (or left out), not ${JSON.stringify(value)}`);
      } else report(part.source.at([key], 'key'), `\`${key}\` must be a ${LIST_SECTIONS.includes(key) ? 'list' : 'mapping'} to be included`);
    }
  };

  const rootValue = root.value;
  if (rootValue === null || typeof rootValue !== 'object' || Array.isArray(rootValue)) return { loaded: root, diagnostics: [], files };
  visit({ file: rootPath, root: true, source: root.source, value: rootValue as Record<string, unknown> }, [{ path: rootFile, key: rootKey }], extra);
  delete merged.include;
  const source = new ComposedSource(root.source, lists, owners, includedFrom);
  const definitions = new Map<string, { value: unknown; at: Location }>();
  for (const [name, o] of owners.get('variables') ?? []) definitions.set(name, { value: o.value, at: o.source.at(['variables', name], 'key') });
  for (const [name, v] of variables) definitions.set(name, v);
  const value = substitute(merged, [], definitions, source, diagnostics, { bytes: 0, sizes: new Map(), over: false });
  // Used up; one that is not a mapping is left for the schema to refuse (`variables: 5`).
  const used = (value as Record<string, unknown>).variables;
  if (used !== null && typeof used === 'object' && !Array.isArray(used)) delete (value as Record<string, unknown>).variables;
  return { loaded: { value, source, text: root.text }, diagnostics: diagnostics.map((d) => withChain(d, source)), files };
}

/** What the references put in so far (in bytes of text), each variable's size once, and whether the limit was passed. */
interface Spent {
  bytes: number;
  readonly sizes: Map<string, number>;
  over: boolean;
}

/** About the bytes of a value written out (strings, numbers and the punctuation between them). */
function sizeOf(value: unknown): number {
  if (typeof value === 'string') return value.length + 2;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + sizeOf(v) + 1, 2);
  if (value !== null && typeof value === 'object') return Object.entries(value).reduce((n, [k, v]) => n + k.length + 2 + sizeOf(v), 2);
  return String(value).length + 1;
}

/** Whether `bytes` more fit within MAX_VARIABLE_BYTES; else one diagnostic at the reference, for the whole policy. */
function spend(spent: Spent, bytes: number, at: Location, out: Diagnostic[]): boolean {
  if (spent.over) return false;
  spent.bytes += bytes;
  if (spent.bytes <= MAX_VARIABLE_BYTES) return true;
  spent.over = true;
  out.push(diag('expansion-limit', at, `\`\${name}\` variables put more than ${MAX_VARIABLE_BYTES / 1024 / 1024} MiB into this policy by here (as much as the largest policy file ipfence reads): every reference is read as if its value were written there; name a long address list once under \`addresses:\` and use that name (a named set is read once), or shorten the value`));
  return false;
}

/** `${name}` in strings: a string that is one reference becomes its value (a list, say); one with text around it, text. */
function substitute(value: unknown, path: Path, vars: ReadonlyMap<string, { value: unknown; at: Location }>, source: ComposedSource, out: Diagnostic[], spent: Spent): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    const whole = /^\$\{([A-Za-z_][A-Za-z0-9_-]*)\}$/.exec(value);
    const missing = [...value.matchAll(VARIABLE)].map((m) => m[1]!).find((n) => !vars.has(n));
    if (missing !== undefined) {
      out.push(diag('variable-unknown', source.at(path), `variable '${missing}' is not defined: give it in \`variables:\` or in the inventory's group or host variables`));
      return value;
    }
    if (whole) {
      const v = vars.get(whole[1]!)!.value;
      let size = spent.sizes.get(whole[1]!);
      if (size === undefined) spent.sizes.set(whole[1]!, (size = sizeOf(v)));
      return spend(spent, size, source.at(path), out) ? v : value;
    }
    const text = value.replace(VARIABLE, (_, n: string) => {
      const v = vars.get(n)!;
      if (typeof v.value === 'object' && v.value !== null) {
        out.push(diag('variable-unknown', source.at(path), `variable '${n}' is a list or mapping, which can only stand alone in a value, not inside text`, [{ ...v.at, message: 'its definition' }]));
        return '';
      }
      return String(v.value);
    });
    return spend(spent, text.length, source.at(path), out) ? text : value;
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, [...path, i], vars, source, out, spent));
  if (value !== null && typeof value === 'object') {
    const o: Record<string, unknown> = {};
    // Own entries whatever their names (`__proto__` is a name here, not the object's prototype).
    for (const [k, v] of Object.entries(value)) Object.defineProperty(o, k, { value: path.length === 0 && k === 'variables' ? v : substitute(v, [...path, k], vars, source, out, spent), enumerable: true, writable: true, configurable: true });
    return o;
  }
  return value;
}

/** A diagnostic in an included file, with the chain of includes that led to it. */
export function withChain(d: Diagnostic, source: SourceMap): Diagnostic {
  if (!(source instanceof ComposedSource)) return d;
  const chain = source.chainOf(d.file);
  return chain.length === 0 ? d : { ...d, related: [...(d.related ?? []), ...chain] };
}

/**
 * Positions for a composed policy: a rule of a list section, or an entry of a mapping section, is
 * found in the file it came from; everything else in the root file.
 */
class ComposedSource extends SourceMap {
  constructor(
    private readonly root: SourceMap,
    private readonly lists: ReadonlyMap<string, readonly { source: SourceMap; index: number }[]>,
    private readonly owners: ReadonlyMap<string, ReadonlyMap<string, { source: SourceMap }>>,
    private readonly includedFrom: ReadonlyMap<string, Location>,
  ) {
    super(root.file, () => ({ offsetOf: () => 0, linePos: () => ({ line: 1, col: 1 }) }));
  }

  override at(path: Path, which: 'value' | 'key' = 'value'): Location {
    const [section, key, ...rest] = path;
    if (typeof section === 'string' && typeof key === 'number') {
      const at = this.lists.get(section)?.[key];
      if (at) return at.source.at([section, at.index, ...rest], which);
    }
    if (typeof section === 'string' && typeof key === 'string') {
      const owner = this.owners.get(section)?.get(key);
      if (owner) return owner.source.at(path, which);
    }
    return this.root.at(path, which);
  }

  override localPath(path: Path): Path {
    const [section, key, ...rest] = path;
    const at = typeof section === 'string' && typeof key === 'number' ? this.lists.get(section)?.[key] : undefined;
    return at ? [section!, at.index, ...rest] : path;
  }

  override atOffset(offset: number): Location {
    return this.root.atOffset(offset);
  }

  /** Where `file` was included, and where that file was, up to the root policy. */
  chainOf(file: string): Related[] {
    const out: Related[] = [];
    for (let f = file, at = this.includedFrom.get(f); at !== undefined && out.length < MAX_DEPTH; f = at.file, at = this.includedFrom.get(f)) out.push({ ...at, message: `'${f}' is included here` });
    return out;
  }
}
