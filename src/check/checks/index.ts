import type { Check } from './api.js';
import { dockerFlush } from './docker-flush.js';
import { dockerPublished } from './docker-published.js';
import { familyAsymmetry } from './family-asymmetry.js';
import { familyIcmp } from './family-icmp.js';
import { hideTargetAllow } from './hide-target-allow.js';
import { hookInterface } from './hook-interface.js';
import { hookOwner } from './hook-owner.js';
import { hookRedirect } from './hook-redirect.js';
import { hookReject } from './hook-reject.js';
import { hookSnat } from './hook-snat.js';
import { hookNotrack } from './hook-notrack.js';
import { testFailed } from './test-failed.js';
import { ipv6Ndp } from './ipv6-ndp.js';
import { natFiltering } from './nat-filtering.js';
import { noEstablished } from './no-established.js';
import { ownerName } from './owner-name.js';
import { portUsuallyUdp } from './port-usually-udp.js';
import { redirectBypass } from './redirect-bypass.js';
import { redirectLocal } from './redirect-local.js';
import { shadowed } from './shadowed.js';
import { sshLockout } from './ssh-lockout.js';
import { tcpReset } from './tcp-reset.js';

/** Every lint check, once. test/check/checks.test.ts fails when a check lacks docs or tests. */
export const CHECKS: readonly Check[] = [
  dockerFlush, dockerPublished, familyAsymmetry, familyIcmp, hideTargetAllow, hookInterface, hookNotrack, hookOwner, hookRedirect, hookReject, hookSnat, testFailed, ipv6Ndp, natFiltering, noEstablished, ownerName, portUsuallyUdp, redirectBypass, redirectLocal, shadowed, sshLockout, tcpReset,
];
