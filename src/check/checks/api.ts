/** What a lint check is and sees: each file in checks/ exports one Check. */
import type { Code, Severity } from '../../diagnostics/codes.js';
import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import type { IR } from '../../model/ir.js';
import type { SourceMap } from '../../load/source.js';
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

export interface Check {
  readonly code: Code;
  readonly severity: Severity;
  /** One paragraph for the docs table: what triggers it and how to fix it. */
  readonly docs: string;
  /** A policy that triggers it, shown in docs/checks.md with the real diagnostic. Guards of the emitter have none: no valid policy reaches them. */
  readonly example?: string;
  readonly check: (input: CheckInput) => Diagnostic[];
}

