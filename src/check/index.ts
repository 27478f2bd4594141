import type { Check } from './check.js';
import { argTooLong } from './checks/arg-too-long.js';
import { chainLoop } from './checks/chain-loop.js';
import { chainName } from './checks/chain-name.js';
import { dockerFlush } from './checks/docker-flush.js';
import { dockerPublished } from './checks/docker-published.js';
import { familyAsymmetry } from './checks/family-asymmetry.js';
import { familyIcmp } from './checks/family-icmp.js';
import { hookInterface } from './checks/hook-interface.js';
import { hookOwner } from './checks/hook-owner.js';
import { hookRedirect } from './checks/hook-redirect.js';
import { hookReject } from './checks/hook-reject.js';
import { ipv6Ndp } from './checks/ipv6-ndp.js';
import { lineTooLong } from './checks/line-too-long.js';
import { multiportLimit } from './checks/multiport-limit.js';
import { natFiltering } from './checks/nat-filtering.js';
import { natPolicy } from './checks/nat-policy.js';
import { noEstablished } from './checks/no-established.js';
import { ownerName } from './checks/owner-name.js';
import { redirectLocal } from './checks/redirect-local.js';
import { shadowed } from './checks/shadowed.js';
import { sshLockout } from './checks/ssh-lockout.js';
import { tcpReset } from './checks/tcp-reset.js';

/** Every lint check, once. test/check/checks.test.ts fails when a check lacks docs or tests. */
export const CHECKS: readonly Check[] = [
  argTooLong, chainLoop, chainName, dockerFlush, dockerPublished, familyAsymmetry, familyIcmp, hookInterface, hookOwner, hookRedirect, hookReject, ipv6Ndp, lineTooLong, multiportLimit, natFiltering, natPolicy, noEstablished, ownerName, redirectLocal, shadowed, sshLockout, tcpReset,
];
