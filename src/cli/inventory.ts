import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { diag, hasErrors, type Diagnostic, type Location } from '../diagnostics/diagnostic.js';
import type { ExtraInclude, VariableTable } from '../load/compose.js';
import { resolveInclude } from '../load/include-path.js';
import { load } from '../load/load.js';
import { compile, type CompileResult } from '../pipeline.js';
import { composedHash, gatherIncludes, type IncludeRead } from './includes.js';
import type { IO } from './io.js';
import type { Options } from './options.js';
import { readPolicy } from './read-policy.js';

/** One host of an inventory: its policy, the includes its groups add, its variables. */
interface Host {
  readonly name: string;
  readonly policy: string | undefined;
  readonly at: Location;
  readonly includes: readonly ExtraInclude[];
  readonly variables: VariableTable;
}

/** A host's name is the folder its files go to: no path, nothing to quote. */
export const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export interface HostResult {
  readonly host: string;
  /** Where the inventory names the host. */
  readonly at: Location;
  readonly result: CompileResult;
}

/**
 * The hosts' diagnostics, each said once: a finding in a shared file is the same in every host
 * that includes it, and is reported with the other hosts it is found in (named up to `NAMED`).
 */
export function onceAcrossHosts(hosts: readonly HostResult[]): Diagnostic[] {
  const first = new Map<string, { d: Diagnostic; hosts: HostResult[] }>();
  for (const h of hosts) {
    for (const d of h.result.diagnostics) {
      const key = JSON.stringify([d.code, d.file, d.line, d.col, d.message]);
      const seen = first.get(key);
      if (seen) seen.hosts.push(h);
      else first.set(key, { d, hosts: [h] });
    }
  }
  return [...first.values()].map(({ d, hosts: [one, ...more] }) => {
    if (more.length === 0 || one === undefined) return d;
    const names = more.slice(0, NAMED).map((h) => h.host).join(', ');
    const also = { ...more[0]!.at, message: `also in ${more.length} more host${more.length > 1 ? 's' : ''}: ${names}${more.length > NAMED ? ', ...' : ''}` };
    return { ...d, related: [...(d.related ?? []), also] };
  });
}
const NAMED = 5;

/**
 * `--inventory FILE`: every host of an inventory compiled (or checked), in name order. The files
 * its groups share are read once for all hosts. The diagnostics are the inventory's own, then
 * each host's.
 */
export async function compileInventory(path: string, o: Options, io: IO, emit: boolean): Promise<{ readonly hosts: readonly HostResult[]; readonly diagnostics: readonly Diagnostic[]; readonly ioFailed: boolean }> {
  const src = await readPolicy(path, o, io, true);
  if (src.problem) return { hosts: [], diagnostics: [src.problem], ioFailed: true };
  // Its hosts' policies and its groups' includes are relative to its path in the working directory, however it was named.
  const base = src.path ?? src.file;
  const read = readInventory(src.text!, src.file, base);
  if (hasErrors(read.diagnostics)) return { hosts: [], diagnostics: read.diagnostics, ioFailed: false };
  const cache = new Map<string, IncludeRead>();
  const out: HostResult[] = [];
  const diagnostics: Diagnostic[] = [...read.diagnostics];
  let ioFailed = false;
  // Hosts sharing a policy file read it once: every host compiles the same bytes, even if the file changes meanwhile.
  const policies = new Map<string, Awaited<ReturnType<typeof readPolicy>>>();
  for (const h of read.hosts) {
    let file = `${src.file}#${h.name}`;
    let text = 'version: 1\n';
    let hash = '';
    let id: string | undefined;
    if (h.policy !== undefined) {
      const where = resolveInclude(base, h.policy);
      if ('error' in where) {
        diagnostics.push(diag('inventory-invalid', h.at, `host '${h.name}': ${where.error}`));
        continue;
      }
      const p = policies.get(where.path) ?? (await readPolicy(where.path, o, io, true));
      policies.set(where.path, p);
      if (p.problem) {
        // A file that cannot be read is an I/O failure (exit 2), as for a policy named on the command line.
        ioFailed = true;
        diagnostics.push({ ...p.problem, related: [{ ...h.at, message: `the policy of host '${h.name}'` }] });
        continue;
      }
      file = where.path;
      text = p.text!;
      hash = p.hash!;
      id = p.id;
    }
    const gathered = await gatherIncludes({ file, path: file, id }, text, io, o.maxBytes, h.includes, cache);
    // The host's own values, not the whole inventory: a change to one host re-applies only that host.
    const values = JSON.stringify(Object.fromEntries([...h.variables].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v.value])));
    const files = [{ path: file, hash }, ...gathered.order.flatMap((f) => (gathered.hashes.has(f) ? [{ path: f, hash: gathered.hashes.get(f)! }] : [])), { path: 'variables', hash: createHash('sha256').update(values).digest('hex') }];
    const result = compile(text, file, h.policy === undefined ? h.name : basename(file), {
      severity: o.severity,
      emit,
      sourceHash: composedHash(files),
      hostDir: o.hostDir,
      includes: gathered.set,
      variables: h.variables,
      extraIncludes: h.includes,
      identity: { path: file, ...(id !== undefined ? { id } : {}) },
    });
    out.push({ host: h.name, at: h.at, result });
  }
  return { hosts: out, diagnostics, ioFailed };
}

/**
 * The inventory file: `version: 1`, `groups: { NAME: { include, variables } }`, `hosts: { NAME:
 * { policy, groups, variables } }`. A host's variables win over its groups'; two of its groups
 * giving one variable different values is an error naming both.
 */
function readInventory(text: string, file: string, base = file): { readonly hosts: readonly Host[]; readonly diagnostics: readonly Diagnostic[] } {
  const loaded = load(text, file);
  if (!loaded.loaded) return { hosts: [], diagnostics: loaded.diagnostics };
  const { value, source } = loaded.loaded;
  const diagnostics: Diagnostic[] = [];
  const bad = (path: (string | number)[], message: string, which: 'value' | 'key' = 'value') => void diagnostics.push(diag('inventory-invalid', source.at(path, which), message));
  const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isMap(value)) return { hosts: [], diagnostics: [diag('inventory-invalid', source.at([]), 'an inventory is a mapping: version: 1, groups and hosts')] };
  for (const k of Object.keys(value)) if (!['version', 'groups', 'hosts'].includes(k)) bad([k], `unknown key '${k}' in the inventory; known: version, groups, hosts`, 'key');
  if (value.version !== 1) bad(['version'], 'an inventory needs `version: 1`');
  const groups = isMap(value.groups) ? value.groups : {};
  if (value.groups !== undefined && !isMap(value.groups)) bad(['groups'], '`groups` is a mapping of group names to { include, variables }');
  if (!isMap(value.hosts) || Object.keys(value.hosts).length === 0) bad(['hosts'], '`hosts` is a mapping of host names to { policy, groups, variables }, with at least one host');
  const includesOf = (path: (string | number)[], v: unknown): ExtraInclude[] => {
    if (v === undefined) return [];
    const list = typeof v === 'string' ? [v] : Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null;
    if (list === null) return void bad(path, '`include` is a file or a list of files'), [];
    return list.map((spec, i) => ({ spec, base, at: source.at(typeof v === 'string' ? path : [...path, i]) }));
  };
  const variablesOf = (path: (string | number)[], v: unknown): Map<string, { value: unknown; at: Location }> => {
    const out = new Map<string, { value: unknown; at: Location }>();
    if (v === undefined) return out;
    if (!isMap(v)) return void bad(path, '`variables` is a mapping of names to values'), out;
    for (const [k, x] of Object.entries(v)) {
      if (!VAR_NAME.test(k)) bad([...path, k], `'${k}' is not a variable name: letters, digits, '_' and '-', starting with a letter or '_'`, 'key');
      else out.set(k, { value: x, at: source.at([...path, k]) });
    }
    return out;
  };
  const groupDefs = new Map<string, { includes: ExtraInclude[]; variables: Map<string, { value: unknown; at: Location }> }>();
  for (const [g, def] of Object.entries(groups)) {
    if (!isMap(def)) {
      bad(['groups', g], `group '${g}' is a mapping: { include, variables }`);
      continue;
    }
    for (const k of Object.keys(def)) if (!['include', 'variables'].includes(k)) bad(['groups', g, k], `unknown key '${k}' in group '${g}'; known: include, variables`, 'key');
    groupDefs.set(g, { includes: includesOf(['groups', g, 'include'], def.include), variables: variablesOf(['groups', g, 'variables'], def.variables) });
  }
  const hosts: Host[] = [];
  for (const [name, def] of Object.entries(isMap(value.hosts) ? value.hosts : {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const path = ['hosts', name];
    if (!HOST_NAME.test(name)) {
      bad(path, `'${name}' cannot be a host name: its files go to a folder of that name (letters, digits, '.', '_' and '-', at most 63)`, 'key');
      continue;
    }
    const d = def === null ? {} : def;
    if (!isMap(d)) {
      bad(path, `host '${name}' is a mapping: { policy, groups, variables }`);
      continue;
    }
    for (const k of Object.keys(d)) if (!['policy', 'groups', 'variables'].includes(k)) bad([...path, k], `unknown key '${k}' in host '${name}'; known: policy, groups, variables`, 'key');
    if (d.policy !== undefined && typeof d.policy !== 'string') bad([...path, 'policy'], '`policy` is the path of the host\'s policy file');
    const memberOf = d.groups === undefined ? [] : Array.isArray(d.groups) && d.groups.every((x) => typeof x === 'string') ? (d.groups as string[]) : null;
    if (memberOf === null) {
      bad([...path, 'groups'], '`groups` is a list of group names');
      continue;
    }
    const includes: ExtraInclude[] = [];
    const variables = new Map<string, { value: unknown; at: Location; group?: string }>();
    memberOf.forEach((g, i) => {
      const def = groupDefs.get(g);
      if (def === undefined) return bad([...path, 'groups', i], `no group '${g}' in \`groups\``);
      includes.push(...def.includes);
      for (const [k, v] of def.variables) {
        const first = variables.get(k);
        if (first && JSON.stringify(first.value) !== JSON.stringify(v.value)) {
          diagnostics.push(diag('inventory-invalid', source.at([...path, 'groups', i]), `host '${name}': groups '${first.group}' and '${g}' give variable '${k}' different values; give it in the host's variables, or in one group`, [{ ...first.at, message: `'${k}' in group '${first.group}'` }, { ...v.at, message: `'${k}' in group '${g}'` }]));
          continue;
        }
        variables.set(k, { ...v, group: g });
      }
    });
    for (const [k, v] of variablesOf([...path, 'variables'], d.variables)) variables.set(k, v);
    hosts.push({ name, policy: typeof d.policy === 'string' ? d.policy : undefined, at: source.at(path, 'key'), includes, variables });
  }
  return { hosts, diagnostics };
}

