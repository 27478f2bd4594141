import { check } from './check/check.js';
import { VALUE_CODES } from './diagnostics/codes.js';
import { applyConfig, type Level } from './check/config.js';
import { compareDiagnostics, hasErrors, type Diagnostic } from './diagnostics/diagnostic.js';
import { BACKEND, emit, type Artifact } from './emit/emit.js';
import type { IR } from './model/ir.js';
import { load, type Loaded } from './load/load.js';
import { compose, withChain, type ExtraInclude, type IncludeSet, type RootIdentity, type VariableTable } from './load/compose.js';
import { normalize } from './normalize/normalize.js';
import { validate } from './validate/validate.js';
import { validRest } from './validate/prune.js';
import type { Policy } from './model/policy.js';
import { valueAt } from './model/path.js';

export interface CompileResult {
  /** Present only when there are no errors: nothing is ever written from a failed compile. */
  readonly artifacts?: readonly Artifact[];
  readonly ir?: IR;
  readonly diagnostics: readonly Diagnostic[];
}

export interface CompileOptions {
  /** Severity per check from the command line; wins over the policy's `checks:`. */
  readonly severity?: Readonly<Record<string, Level>>;
  /** false: stop after the checks (`ipfence check` needs no files). Default true. */
  readonly emit?: boolean;
  /** The SHA-256 of the policy file's bytes, for the headers (see SourceInfo); else the text's is used. */
  readonly sourceHash?: string;
  /** Where the files will live on the host (the systemd units run apply.sh there); default /etc/ipfence. */
  readonly hostDir?: string;
  /** The files the policy's includes name, read beforehand (see src/cli/includes.ts). */
  readonly includes?: IncludeSet;
  /** Values for `${name}` from an inventory, and includes its groups add before the policy's own. */
  readonly variables?: VariableTable;
  readonly extraIncludes?: readonly ExtraInclude[];
  /** The policy file's path relative to the working directory and its identity, as read (src/cli/read.ts). */
  readonly identity?: RootIdentity;
}

/**
 * The whole compiler as one pure function of the policy text: load -> validate -> normalize ->
 * check -> emit. Each stage returns its problems; the first stage with errors ends the run.
 */
export function compile(text: string, file: string, displayName = file, options: CompileOptions = {}): CompileResult {
  const loaded = load(text, file);
  if (!loaded.loaded) return { diagnostics: sortedDiagnostics(loaded.diagnostics) };
  const composed = composes(loaded.loaded.value, text, options) ? compose(loaded.loaded, file, options.includes ?? new Map(), options.variables, options.extraIncludes, options.identity) : undefined;
  if (composed && (!composed.loaded || hasErrors(composed.diagnostics))) return { diagnostics: sortedDiagnostics(composed.diagnostics) };
  const { value, source } = composed?.loaded ?? loaded.loaded;
  // A diagnostic in an included file names the includes that led there.
  const sorted = (ds: readonly Diagnostic[]): Diagnostic[] => sortedDiagnostics(composed ? ds.map((d) => withChain(d, source)) : ds);
  const valid = validate(value, source);
  if (!valid.policy) return { diagnostics: sorted([...loaded.diagnostics, ...valid.diagnostics, ...errorsInTheRest(value, valid, source, options.severity)]) };
  const norm = normalize(valid.policy, source);
  const soFar = [...loaded.diagnostics, ...norm.diagnostics];
  const { ir } = norm;
  if (!ir) return { diagnostics: sorted(soFar) };
  // The lint checks, then the back end's guards: rendering measures what its tool would refuse.
  // The output's size last: past a limit of its own, however few rules made it (long names, long lists).
  const guarded = [...soFar, ...check({ ir, policy: valid.policy, source }), ...BACKEND.guards.flatMap((g) => g.check({ ir }))];
  const all = sorted(applyConfig(hasErrors(guarded) ? guarded : [...guarded, ...BACKEND.outputSizeLimit(ir)], valid.policy, source, options.severity));
  if (hasErrors(all) || options.emit === false) return { ir, diagnostics: all };
  return { ir, artifacts: emit(ir, { name: displayName, text, hash: options.sourceHash }, { hostDir: options.hostDir }), diagnostics: all };
}

/**
 * The value errors in what is valid of an invalid policy (validRest), graded as the policy grades
 * them (`checks:`, `suppress:`, --severity), each at its path as written. Normalize gets a policy
 * the schema accepts, and nothing catches what fails there: that would be a bug.
 */
function errorsInTheRest(value: unknown, valid: ReturnType<typeof validate>, source: Loaded['source'], severity: CompileOptions['severity']): Diagnostic[] {
  const rest = validRest(value, valid, source);
  if (rest === undefined) return [];
  const found = normalize(rest.policy, rest.source).diagnostics.filter((d) => VALUE_CODES.has(d.code) && !(d.path !== undefined && rest.aboutPlaceholder(d.path)));
  return applyConfig(found, rest.policy, rest.source, severity)
    .filter((d) => d.code !== 'unused-suppression')
    .map((d) => (d.path === undefined ? d : { ...d, path: rest.authorPath(d.path) }))
    .filter((d) => !namesWhatWasPruned(d, value, rest.policy));
}

/**
 * A name that is not declared only because pruning took out its declaration (`lan: ""` under
 * `interfaces`, an address set with one bad entry): the schema's error at the declaration says it.
 */
function namesWhatWasPruned(d: Diagnostic, value: unknown, rest: Policy): boolean {
  if ((d.code !== 'unknown-name' && d.code !== 'interface-unknown') || d.path === undefined) return false;
  const written = (p: readonly (string | number)[]): unknown => valueAt(value, p);
  const names = [written(d.path)].flat().filter((x): x is string => typeof x === 'string');
  // The map such a name is declared in: an interface's keys name interfaces, others address sets.
  const key = [...d.path].reverse().find((seg) => typeof seg === 'string');
  const map = d.code === 'interface-unknown' || (typeof key === 'string' && INTERFACE_KEYS.has(key)) ? 'interfaces' : 'addresses';
  const declared = written([map]);
  return declared !== null && typeof declared === 'object' && names.some((n) => Object.hasOwn(declared, n) && !Object.hasOwn(rest[map] ?? {}, n));
}
const INTERFACE_KEYS: ReadonlySet<string> = new Set(['interface', 'in', 'out', 'dev', 'bridges']);

function sortedDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort(compareDiagnostics);
}

/** Whether a policy is made of more than its own text: includes, variables (`${` is cheap to look for). */
function composes(value: unknown, text: string, options: CompileOptions): boolean {
  if (options.variables !== undefined || (options.extraIncludes?.length ?? 0) > 0 || text.includes('${')) return true;
  return value !== null && typeof value === 'object' && ('include' in value || 'variables' in value);
}
