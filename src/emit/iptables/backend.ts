import type { Backend } from '../backend.js';
import { fallbackRuleset } from './fallback.js';
import { GUARDS } from './guards/index.js';
import { outputSizeLimit } from './output-size.js';
import { iptablesFiles, ruleAt, setsFiles } from './restore.js';

/** iptables-restore and ip6tables-restore files, and an ipset restore file for the address sets. */
export const IPTABLES: Backend = {
  name: 'iptables',
  rulesFiles: iptablesFiles,
  setFiles: setsFiles,
  fallback: fallbackRuleset,
  guards: GUARDS,
  outputSizeLimit: (ir) => outputSizeLimit(ir),
  ruleAt,
};
