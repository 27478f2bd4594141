import { check } from './check/check.js';
import { overShadowLimit, SHADOW_MAX_RULES } from './check/checks/shadowed.js';
import { applyConfig, type Level } from './check/config.js';
import { countText } from './diagnostics/count.js';
import { compareDiagnostics, hasErrors, type Diagnostic } from './diagnostics/diagnostic.js';
import { emit, type Artifact } from './emit/emit.js';
import type { IR } from './ir/ir.js';
import { load } from './load/load.js';
import { normalize } from './normalize/normalize.js';
import type { Policy } from './policy.js';
import { validate } from './validate/validate.js';

export interface CompileResult {
  /** Present only when there are no errors: nothing is ever written from a failed compile. */
  readonly artifacts?: readonly Artifact[];
  readonly ir?: IR;
  readonly diagnostics: readonly Diagnostic[];
  /** What the checks could not cover (no position, no finding): the CLI prints them as notes. */
  readonly notes?: readonly string[];
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
  /** The SHA-256 of the policy file's bytes, for the headers (see SourceInfo); else the text's is used. */
  readonly sourceHash?: string;
  /** Where the files will live on the host (the systemd units run apply.sh there); default /etc/ipfence. */
  readonly hostDir?: string;
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
  const notes = notesOf(norm.ir, valid.policy, options.severity);
  if (hasErrors(all) || options.emit === false) return { ir: norm.ir, diagnostics: all, notes };
  return { ir: norm.ir, artifacts: emit(norm.ir, { name: displayName, text, hash: options.sourceHash }, { hostDir: options.hostDir }), diagnostics: all, notes };
}

/** Chains too long for `shadowed`, unless the author turned the check off. */
function notesOf(ir: IR, policy: Policy, severity: CompileOptions['severity']): string[] {
  if ((severity?.shadowed ?? policy.checks?.shadowed) === 'off') return [];
  const skipped = overShadowLimit(ir);
  if (skipped.length === 0) return [];
  return [`'shadowed' did not look at ${skipped.join(' and ')}: it analyses chains of up to ${countText(SHADOW_MAX_RULES)} rules (long address lists belong in sets)`];
}

function sorted(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort(compareDiagnostics);
}
