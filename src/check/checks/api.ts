/** What a lint check is and sees: each file in checks/ exports one Check. */
import type { Code } from '../../diagnostics/codes.js';
import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import type { IR } from '../../model/ir.js';
import type { SourceMap } from '../../load/source-map.js';
import type { Path } from '../../model/path.js';
import type { Policy } from '../../model/policy.js';

/** What a check sees: the IR, and the policy for checks about what the author did not write. */
export interface CheckInput {
  readonly ir: IR;
  readonly policy: Policy;
  readonly source: SourceMap;
}

/** The location of a policy key if the author wrote it, else of its nearest written parent. */
export function policyLoc({ policy, source }: CheckInput, path: Path) {
  let node: unknown = policy;
  const written: (string | number)[] = [];
  for (const seg of path) {
    if (node === null || typeof node !== 'object' || !(String(seg) in (node as object))) break;
    node = (node as Record<string, unknown>)[String(seg)];
    written.push(seg);
  }
  return source.at(written);
}

/**
 * What a finding means, which decides who reads about it. lint: a judgement about the policy,
 * documented in docs/checks.md with an example (the warnings and `shadowed` are re-gradable).
 * invariant: something ipfence itself guarantees, so a finding is a bug in ipfence; not in the
 * user's docs beyond the code catalogue. limit: what the kernel or iptables would refuse or alter.
 */
export type AnalysisKind = 'lint' | 'invariant' | 'limit';

/**
 * One analysis of the IR, whatever stage runs it: a lint check over the IR and the policy, or a
 * guard of the output over the IR alone. Its severity is its code's (CODES).
 */
export interface Analysis<I extends { readonly ir: IR } = CheckInput> {
  readonly code: Code;
  readonly kind: AnalysisKind;
  /** One paragraph for the docs: what triggers it and how to fix it. */
  readonly docs: string;
  /** A policy that triggers it, shown in docs/checks.md with the real diagnostic; every lint check has one. */
  readonly example?: string;
  readonly check: (input: I) => Diagnostic[];
}

/** A lint check or invariant of the check stage. */
export type Check = Analysis<CheckInput>;
