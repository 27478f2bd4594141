import type { Guard } from './api.js';
import { argTooLong } from './arg-too-long.js';
import { chainLoop } from './chain-loop.js';
import { chainName } from './chain-name.js';
import { lineTooLong } from './line-too-long.js';
import { multiportLimit } from './multiport-limit.js';
import { natPolicy } from './nat-policy.js';

/** Every guard of the output, once. test/emit/guards.test.ts fails when one lacks docs or tests. */
export const GUARDS: readonly Guard[] = [argTooLong, chainLoop, chainName, lineTooLong, multiportLimit, natPolicy];
