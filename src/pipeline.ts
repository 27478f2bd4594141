import { check } from './check/check.js';
import { applyConfig, type Level } from './check/config.js';
import { compareDiagnostics, hasErrors, type Diagnostic } from './diagnostics/diagnostic.js';
import { emit, type Artifact } from './emit/emit.js';
import type { IR } from './ir/ir.js';
import { load } from './load/load.js';
import { normalize } from './normalize/normalize.js';
import { validate } from './validate/validate.js';

export interface CompileResult {
  /** Present only when there are no errors: nothing is ever written from a failed compile. */
  readonly artifacts?: readonly Artifact[];
  readonly ir?: IR;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * The whole compiler as one pure function of the policy text: load -> validate -> normalize ->
 * check -> emit. Each stage returns its problems; the first stage with errors ends the run.
 */
export interface CompileOptions {
  /** Severity per check from the command line; wins over the policy's `checks:`. */
  readonly severity?: Readonly<Record<string, Level>>;
  /** false: stop after the checks (`ipfence check` needs no files). Default true. */
  readonly emit?: boolean;
}

export function compile(text: string, file: string, displayName = file, options: CompileOptions = {}): CompileResult {
  const loaded = load(text, file);
  if (!loaded.loaded) return { diagnostics: sorted(loaded.diagnostics) };
  const { value, source } = loaded.loaded;
  const valid = validate(value, source);
  if (!valid.policy) return { diagnostics: sorted([...loaded.diagnostics, ...valid.diagnostics]) };
  const norm = normalize(valid.policy, source);
  const soFar = [...loaded.diagnostics, ...norm.diagnostics];
  if (!norm.ir) return { diagnostics: sorted(soFar) };
  const all = sorted(applyConfig([...soFar, ...check({ ir: norm.ir, policy: valid.policy, source })], valid.policy, source, options.severity));
  if (hasErrors(all) || options.emit === false) return { ir: norm.ir, diagnostics: all };
  return { ir: norm.ir, artifacts: emit(norm.ir, { name: displayName, text }), diagnostics: all };
}

function sorted(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort(compareDiagnostics);
}
