import { diag, formatLocation, type Diagnostic } from '../../diagnostics/diagnostic.js';
import { DIM, everything, intersectBox, type Box } from '../../packet/space.js';
import type { Family } from '../../model/ir.js';
import { modelsOf } from '../../packet/path.js';
import type { Check } from './api.js';

const HIDE = ' (hide target)';

/**
 * An inbound allow of a port a redirect hides: on the packet model, every connection it would
 * accept that did not come through the redirect is decided before it, some by the hiding rule.
 * (Connections that came through the redirect are the redirect's own to accept.)
 */
export const hideTargetAllow: Check = {
  code: 'hide-target-allow',
  severity: 'error',
  docs: 'An inbound allow of a port that a redirect hides (`hide-target: true`): connections that did not come through the redirect are refused before the allow, so it never applies. Remove the allow, or `hide-target`.',
  example: 'version: 1\ninbound:\n  - { name: open-target, port: 8443 }\nredirects:\n  - { name: alt, port: 8445, to-port: 8443, local: false, hide-target: true }\n',
  check: ({ ir }) => {
    const found = new Map<string, Diagnostic>();
    for (const model of modelsOf(ir)) {
      const filter = model.ruleset.tables.find((t) => t.name === 'filter');
      const hides = (filter?.chains ?? []).flatMap((c) => c.rules.filter((r) => r.origin.path[0] === 'redirects' && r.origin.label.endsWith(HIDE)));
      for (const hide of hides) {
        const allows = model.meeting('filter', 'INPUT', model.box(hide).box).filter((e) => e.verdict === 'accept').flatMap((e) => e.rules().filter((r) => r.origin.path[0] === 'inbound'));
        for (const allow of allows) {
          const direct = intersectBox(model.box(allow).box, NOT_TRANSLATED[model.family]);
          if (direct === null) continue;
          const decisions = model.decide('filter', 'INPUT', direct);
          if (decisions.some((d) => d.rules.includes(allow)) || !decisions.some((d) => d.rules.some((r) => r.origin.path.join('/') === hide.origin.path.join('/')))) continue;
          const key = `${allow.origin.path.join('/')} ${hide.origin.path.join('/')}`;
          if (found.has(key)) continue;
          const redirect = hide.origin.label.slice(0, -HIDE.length);
          const port = allow.matches.flatMap((m) => (m.kind === 'dports' ? m.ports.map((p) => (p.lo === p.hi ? String(p.lo) : `${p.lo}-${p.hi}`)) : []));
          const target = hide.matches.flatMap((m) => (m.kind === 'dports' ? m.ports.map((p) => String(p.lo)) : []))[0] ?? port[0];
          found.set(key, diag('hide-target-allow', allow.origin.loc, `'${allow.origin.label}' allows port ${target}, which redirect '${redirect}' (${formatLocation(hide.origin.loc)}) hides (\`hide-target: true\`): connections that did not come through the redirect are refused before this allow, so it never applies; remove the allow, or \`hide-target\``, [{ ...hide.origin.loc, message: 'the redirect that hides the port' }], allow.origin.path));
        }
      }
    }
    return [...found.values()];
  },
};

/** Every packet of a family that nat did not translate. */
const NOT_TRANSLATED: Readonly<Record<Family, Box>> = { ipv4: notTranslated('ipv4'), ipv6: notTranslated('ipv6') };
function notTranslated(f: Family): Box {
  const b = everything(f).slice();
  b[DIM.dnat] = [[0n, 0n]];
  return b;
}
