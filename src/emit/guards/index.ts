import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import type { IR } from '../../model/ir.js';
import type { Guard } from './api.js';
import { argTooLong } from './arg-too-long.js';
import { chainLoop } from './chain-loop.js';
import { chainName } from './chain-name.js';
import { lineTooLong } from './line-too-long.js';
import { multiportLimit } from './multiport-limit.js';
import { natPolicy } from './nat-policy.js';

/** Every guard of the output, once. test/emit/guards.test.ts fails when one lacks docs or tests. */
export const GUARDS: readonly Guard[] = [argTooLong, chainLoop, chainName, lineTooLong, multiportLimit, natPolicy];

/** What iptables would refuse or alter in the files this IR renders to (nothing, unless ipfence has a bug). */
export function guardOutput(ir: IR): Diagnostic[] {
  return GUARDS.flatMap((g) => g.check({ ir }));
}
