import type { ErrorObject, ValidateFunction } from 'ajv';
// Compiled ahead from schema/ipfence.schema.json by `npm run gen`.
import { validate as precompiled } from './schema-validator.generated.js';
import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import type { SourceMap } from '../load/source-map.js';
import { describe, type Path } from '../model/path.js';
import type { Policy } from '../model/policy.js';
import { didYouMean } from '../util/suggest.js';


export interface ValidateResult {
  readonly policy?: Policy;
  readonly diagnostics: readonly Diagnostic[];
  /** Where the policy is invalid: the values (or unknown keys) to take out to check the rest (see validRest in prune.ts). */
  readonly invalid?: readonly Path[];
  /** Required keys that are missing, each as its object's path and the key (also in `invalid`, as the object). */
  readonly missing?: readonly Path[];
}

/** Checks the loaded value against schema/ipfence.schema.json and explains failures in plain words. */
export function validate(value: unknown, source: SourceMap): ValidateResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { diagnostics: [diag('schema-type', source.at([]), 'a policy is a mapping with at least `version: 1`')] };
  }
  const inventory = inventoryKeys(value as Record<string, unknown>);
  if (inventory) {
    return { diagnostics: [diag('schema-unknown-key', source.at([inventory], 'key'), `this file looks like an inventory (\`${inventory}:\` ${inventory === 'hosts' ? 'names hosts and their policies' : 'is a key of inventories'}), not a policy: give it with --inventory, as in 'ipfence check --inventory ${source.file.startsWith('<') ? 'hosts.yaml' : source.file}' (compile and test take --inventory too)`)] };
  }
  const check = precompiled as unknown as ValidateFunction;
  if (check(value)) {
    const reserved = reservedRunFirst(value as Policy, source);
    return reserved.length === 0 ? { policy: value as Policy, diagnostics: [] } : { diagnostics: reserved, invalid: [['coexist', 'run-first']] };
  }
  const seen = new Set<string>();
  const diagnostics: Diagnostic[] = [];
  const invalid: Path[] = [];
  const missing: Path[] = [];
  for (const e of check.errors ?? []) {
    const path = toPath(e.instancePath, value);
    if (e.keyword === 'required') missing.push([...path, String(e.params.missingProperty)]);
    invalid.push(e.keyword === 'additionalProperties' ? [...path, String(e.params.additionalProperty)] : e.keyword === 'propertyNames' ? [...path, String(e.params.propertyName)] : path);
    const d = explain(e, value, source);
    if (!d) continue;
    const key = `${d.line}:${d.col}:${d.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      diagnostics.push(d);
    }
  }
  return { diagnostics, invalid, missing };
}

/**
 * The inventory key of a file that has nothing but an inventory's keys (`version`, `groups`,
 * `hosts`) and at least `hosts` or `groups`: given as a policy, it would get "unknown key 'hosts'
 * (did you mean 'host'?)", which sends its author the wrong way.
 */
function inventoryKeys(value: Record<string, unknown>): 'hosts' | 'groups' | undefined {
  const keys = Object.keys(value);
  if (!keys.every((k) => k === 'version' || k === 'groups' || k === 'hosts')) return undefined;
  const map = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  // A policy's `host:` misspelt (`hosts: { addresses: ... }`) is not an inventory: its hosts name a policy.
  const hosts = map(value.hosts) && Object.values(value.hosts).some((h) => map(h) && (Object.hasOwn(h, 'policy') || Object.hasOwn(h, 'groups')));
  return hosts ? 'hosts' : map(value.groups) ? 'groups' : undefined;
}

/** Names ipfence gives its own chains and sets; apply.sh treats these as its own. */
const OWN_PREFIXES = ['IPFENCE-', 'ipf-'] as const;
/** Built-in chains and verdicts: no other tool's chain, and a run-first rule to them is no ban. */
const BUILT_IN = ['ACCEPT', 'DROP', 'REJECT', 'RETURN', 'QUEUE', 'INPUT', 'OUTPUT', 'FORWARD', 'PREROUTING', 'POSTROUTING'] as const;

/**
 * run-first entries that would match ipfence's own chains or sets, or a built-in chain or verdict.
 * `IPFENCE-*` keeps the jump to ipfence's own default (IPFENCE-INPUT-DEFAULT) ahead of its hook:
 * every packet, SSH's replies included, meets the default first, and the host is locked out.
 */
function reservedRunFirst(policy: Policy, source: SourceMap): Diagnostic[] {
  const list = policy.coexist?.['run-first'] ?? [];
  const out: Diagnostic[] = [];
  list.forEach((entry, i) => {
    const prefix = entry.endsWith('*') ? entry.slice(0, -1) : undefined;
    const matches = (name: string): boolean => (prefix === undefined ? name === entry : name.startsWith(prefix));
    // A prefix shorter than ipfence's own (`IPF*`, `i*`) matches its names too.
    const own = OWN_PREFIXES.find((p) => entry.startsWith(p) || (prefix !== undefined && p.startsWith(prefix)));
    const builtIn = BUILT_IN.find(matches);
    if (own === undefined && builtIn === undefined) return;
    const what = own !== undefined ? `ipfence's own chains and sets (${own}...), so their jumps would stay ahead of ipfence's hook: the jump to ipfence's default policy would run first and refuse every packet, SSH included` : `the built-in ${builtIn}, which is not another tool's chain`;
    out.push(diag('schema-value', source.at(['coexist', 'run-first', i]), `coexist.run-first entry '${entry}' would match ${what}; list the chains of the tools whose bans must win (fail2ban's f2b-*, sshguard, CROWDSEC_CHAIN)`));
  });
  return out;
}

/** Keys the language once had under another meaning, with what to write now. */
const RENAMED: readonly { readonly key: string; readonly under: (path: Path) => boolean; readonly why: string }[] = [
  {
    key: 'to',
    under: (p) => p.length === 2 && p[0] === 'redirects',
    why: 'is now `local-address`, an address of this host (listed in `host.addresses`): a redirect only ever delivers to this host; to send connections on to another host, write a port forward instead (`forwards:` with `port`, `interface` and `to`, which ipfence writes as DNAT)',
  },
];

function explain(e: ErrorObject, root: unknown, source: SourceMap): Diagnostic | undefined {
  const path = toPath(e.instancePath, root);
  const where = describe(source.localPath(path));
  const parent = (e.parentSchema ?? {}) as Record<string, unknown>;
  const got = show(e.data);
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const renamed = RENAMED.find((r) => r.key === key && r.under(path));
      if (renamed) return diag('schema-unknown-key', source.at([...path, key], 'key'), `'${key}' in ${where} ${renamed.why}`);
      const known = Object.keys((parent.properties ?? {}) as object);
      const guess = didYouMean(key, known);
      const hint = guess ? ` (did you mean '${guess}'?)` : `; known keys here: ${known.join(', ')}`;
      return diag('schema-unknown-key', source.at([...path, key], 'key'), `unknown key '${key}' in ${where}${hint}`);
    }
    case 'required':
      return diag('schema-missing-key', source.at(path), `${where} needs the key '${String(e.params.missingProperty)}'`);
    case 'type':
      return diag('schema-type', source.at(path), `${where} must be ${typeWords(String(e.params.type))}, not ${got}`);
    case 'enum': {
      const allowed = (e.params.allowedValues as unknown[]).map(String);
      const guess = typeof e.data === 'string' ? didYouMean(e.data, allowed) : undefined;
      return diag('schema-value', source.at(path), `${where} must be one of ${allowed.join(', ')}, not ${got}${guess ? ` (did you mean '${guess}'?)` : ''}`);
    }
    case 'const':
      return diag('schema-value', source.at(path), `${where} must be ${show(e.params.allowedValue)}, not ${got}`);
    case 'minimum':
    case 'maximum':
      return diag('schema-value', source.at(path), `${where} must be between ${String(parent.minimum)} and ${String(parent.maximum)}, not ${got}`);
    case 'pattern':
      if ((e as { propertyName?: string }).propertyName !== undefined) return undefined;
      return diag('schema-value', source.at(path), `${where} is ${got}, which is not valid: ${String(parent.description ?? `it must match ${String(e.params.pattern)}`)}`);
    case 'propertyNames': {
      const name = String(e.params.propertyName);
      return diag('schema-value', source.at([...path, name], 'key'), `'${name}' is not a valid name in ${where}: use letters, digits, '_' and '-', starting with a letter`);
    }
    case 'minLength':
    case 'minItems':
      return diag('schema-value', source.at(path), `${where} must not be empty`);
    case 'maxLength':
      return diag('schema-value', source.at(path), `${where} is longer than ${String(parent.maxLength)} characters`);
    case 'uniqueItems':
      return diag('schema-value', source.at(path), `${where} lists the same value twice; remove the duplicate`);
    default:
      return diag('schema-value', source.at(path), `${where} ${e.message ?? 'is invalid'}`);
  }
}

function toPath(pointer: string, root: unknown): Path {
  if (pointer === '') return [];
  const out: (string | number)[] = [];
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      out.push(Number(seg));
      node = node[Number(seg)];
    } else {
      out.push(seg);
      node = node && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}


function typeWords(types: string): string {
  const words: Record<string, string> = { integer: 'a whole number', string: 'a string', array: 'a list', object: 'a mapping', boolean: 'true or false', number: 'a number' };
  const list = types.split(',').map((t) => words[t] ?? t);
  return list.length === 1 ? list[0]! : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]!}`;
}

function show(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `'${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
  return String(v);
}
