import { diag } from '../../../diagnostics/diagnostic.js';
import { emittedChains, type Guard } from './api.js';

const TARGETS = new Set(['ACCEPT', 'DROP', 'REJECT', 'RETURN', 'LOG', 'REDIRECT', 'MARK', 'QUEUE', 'DNAT', 'SNAT', 'MASQUERADE', 'CT', 'NOTRACK', 'CONNMARK', 'NFLOG', 'TRACE']);

export const chainName: Guard = {
  code: 'chain-name',
  kind: 'invariant',
  docs: 'A user chain name longer than 28 characters, starting with - or !, containing white space, or equal to a target name; iptables refuses it. ipfence names its own chains, so this guards the emitter.',
  check: ({ ir }) =>
    emittedChains(ir)
      .filter(({ chain }) => chain.policy === null)
      .flatMap(({ chain: c }) => {
        const why = c.name.length > 28 ? 'is longer than 28 characters' : /^[-!]/.test(c.name) ? 'starts with - or !' : /\s/.test(c.name) ? 'contains white space' : TARGETS.has(c.name.toUpperCase()) ? 'is a target name' : '';
        const loc = c.rules[0]?.origin.loc ?? { file: '<ipfence>', line: 1, col: 1 };
        return why ? [diag('chain-name', loc, `chain name '${c.name}' ${why}`)] : [];
      }),
};
