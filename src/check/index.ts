import type { Check } from './check.js';
import { argTooLong } from './checks/arg-too-long.js';
import { ipv6Ndp } from './checks/ipv6-ndp.js';
import { lineTooLong } from './checks/line-too-long.js';
import { noEstablished } from './checks/no-established.js';
import { sshLockout } from './checks/ssh-lockout.js';

/** Every lint check, once. test/check/registry.test.ts fails when a check lacks docs or tests. */
export const CHECKS: readonly Check[] = [lineTooLong, argTooLong, noEstablished, sshLockout, ipv6Ndp];
