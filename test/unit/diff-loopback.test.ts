import { describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';
import { changedPackets } from '../../src/analysis/diff.js';
import { diffRows } from '../../src/cli/diff.js';

const irOf = (text: string, file: string) => {
  const r = compile(text, file, file, { emit: false });
  if (!r.ir) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.ir;
};

/** diff's rows as one line each: change, traffic, direction, families. */
const rows = (before: string, after: string): string[] =>
  diffRows(changedPackets(irOf(before, 'a.yaml'), irOf(after, 'b.yaml'))).map((r) => `${r.change}: ${r.traffic}, ${r.direction}, ${r.families.join('+')}`);

/**
 * A packet this host sends itself (out lo) comes back in on lo through PREROUTING and INPUT, where
 * a rule of INPUT can refuse it (the kernel does; explain's model follows it there). diff compared
 * the path out only through OUTPUT and POSTROUTING, so a change that shows only there was missed.
 */
describe('diff of a change that locally sent packets meet on their way back in on lo', () => {
  it('reports that hiding a local redirect target refuses connections this host makes to it', () => {
    const redirect = (hide: boolean) => `version: 1\nredirects:\n  - { name: tls-alt, port: 8445, to-port: 8443, local: true, hide-target: ${hide} }\n`;
    const found = rows(redirect(false), redirect(true));
    // Connections made on this host to 127.0.0.1:8443 directly (not through 8445) now meet the hiding rule in INPUT.
    expect(found).toContain('now rejected: tcp port 8443 out lo (packets outside established connections), out, ipv4+ipv6');
    // As before: the same packets arriving from the network (on lo, they are this host's own: said once, above).
    expect(found).toContain('now rejected: tcp port 8443 in any except lo (packets outside established connections), in, ipv4+ipv6');
    expect(found).toHaveLength(2);
  });

  it('reports an inbound rule on lo as refusing what this host sends itself, where no loopback accept comes first', () => {
    const base = 'version: 1\ndefaults: { established: false }\ninbound:\n  - { name: web, port: 80 }\n';
    const found = rows(base, `${base}  - { name: no-local-db, port: 5432, interface: lo, action: drop }\n`);
    // Once, as this host's own connections: not again as ones to this host in on lo.
    expect(found).toEqual(['now dropped: tcp port 5432 out lo, out, ipv4+ipv6']);
  });

  it('sees nothing change on lo where the loopback accept decides first', () => {
    const base = 'version: 1\ninbound:\n  - { name: web, port: 80 }\n';
    const found = rows(base, `${base}  - { name: no-local-db, port: 5432, interface: lo, action: drop }\n`);
    expect(found.filter((r) => r.includes(' lo'))).toEqual([]);
  });
});
