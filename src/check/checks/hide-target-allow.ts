import { diag, formatLocation, type Diagnostic } from '../../diagnostics/diagnostic.js';
import { modelsOf, untranslated } from '../../packet/path.js';
import type { Check } from './api.js';
import { dportsText } from './rule-sites.js';
import { pathKey } from '../../model/path.js';

const HIDE = ' (hide target)';

/**
 * An inbound allow of a port a redirect hides: on the packet model, every connection it would
 * accept that did not come through the redirect is decided before it, some by the hiding rule.
 * (Connections that came through the redirect are the redirect's own to accept.)
 */
export const hideTargetAllow: Check = {
  code: 'hide-target-allow',
  kind: 'lint',
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
          // The connections it would accept that did not come through a redirect.
          const decisions = model.decide('filter', 'INPUT', untranslated(model.box(allow).box));
          if (decisions.some((d) => d.rules.includes(allow)) || !decisions.some((d) => d.rules.some((r) => pathKey(r.origin.path) === pathKey(hide.origin.path)))) continue;
          const key = `${pathKey(allow.origin.path)} ${pathKey(hide.origin.path)}`;
          if (found.has(key)) continue;
          const redirect = hide.origin.label.slice(0, -HIDE.length);
          const target = dportsText(hide).join(', ');
          found.set(key, diag('hide-target-allow', allow.origin.loc, `'${allow.origin.label}' allows port ${target}, which redirect '${redirect}' (${formatLocation(hide.origin.loc)}) hides (\`hide-target: true\`): connections that did not come through the redirect are refused before this allow, so it never applies; remove the allow, or \`hide-target\``, [{ ...hide.origin.loc, message: 'the redirect that hides the port' }], allow.origin.path));
        }
      }
    }
    return [...found.values()];
  },
};
