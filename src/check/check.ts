import type { Diagnostic } from '../diagnostics/diagnostic.js';
import type { CheckInput } from './checks/api.js';
import { CHECKS } from './checks/index.js';

export type { Check, CheckInput } from './checks/api.js';

/** Every lint check over the IR, in the registry's order. */
export function check(input: CheckInput): Diagnostic[] {
  return CHECKS.flatMap((c) => c.check(input));
}
