import type { Check } from './api.js';
import { argTooLong } from './arg-too-long.js';
import { chainLoop } from './chain-loop.js';
import { chainName } from './chain-name.js';
import { dockerFlush } from './docker-flush.js';
import { dockerPublished } from './docker-published.js';
import { familyAsymmetry } from './family-asymmetry.js';
import { familyIcmp } from './family-icmp.js';
import { hookInterface } from './hook-interface.js';
import { hookOwner } from './hook-owner.js';
import { hookRedirect } from './hook-redirect.js';
import { hookReject } from './hook-reject.js';
import { ipv6Ndp } from './ipv6-ndp.js';
import { lineTooLong } from './line-too-long.js';
import { multiportLimit } from './multiport-limit.js';
import { natFiltering } from './nat-filtering.js';
import { natPolicy } from './nat-policy.js';
import { noEstablished } from './no-established.js';
import { ownerName } from './owner-name.js';
import { redirectLocal } from './redirect-local.js';
import { shadowed } from './shadowed.js';
import { sshLockout } from './ssh-lockout.js';
import { tcpReset } from './tcp-reset.js';

/** Every lint check, once. test/check/checks.test.ts fails when a check lacks docs or tests. */
export const CHECKS: readonly Check[] = [
  argTooLong, chainLoop, chainName, dockerFlush, dockerPublished, familyAsymmetry, familyIcmp, hookInterface, hookOwner, hookRedirect, hookReject, ipv6Ndp, lineTooLong, multiportLimit, natFiltering, natPolicy, noEstablished, ownerName, redirectLocal, shadowed, sshLockout, tcpReset,
];
