import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';
import { kernelLab, withNetns, type XtablesVariant } from '../../src/verify/netns.js';
import { ruleComments } from '../helpers/restore-parse.js';

const lab = kernelLab();
const inCI = process.env.CI === 'true';

const policies: [string, string][] = [
  ...readdirSync('examples').filter((f) => f.endsWith('.yaml')).sort().map((f): [string, string] => [`examples/${f}`, readFileSync(join('examples', f), 'utf8')]),
  ...readdirSync('test/fixtures', { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'examples' && d.name !== '_errors_')
    .map((d): [string, string] => [`fixtures/${d.name}`, readFileSync(join('test/fixtures', d.name, 'policy.yaml'), 'utf8')])
    .sort(),
];

if (!lab.ok) {
  if (inCI) {
    it('kernel lab is available in CI', () => {
      expect.fail(`kernel tests cannot run: ${lab.why}. CI must run them as root with iptables and iproute2 installed.`);
    });
  } else {
    describe.skip(`kernel load tests (skipped: ${lab.why}; run \`sudo npm test\` to load every compiled policy into a throwaway network namespace)`, () => {
      it('loads', () => {});
    });
  }
} else {
  describe.each(lab.backends)('real loads into a throwaway namespace (%s back end)', (backend: XtablesVariant) => {
    it.each(policies)('%s loads, and iptables-save shows every rule in order', async (_name, text) => {
      const r = compile(text, 'policy.yaml');
      expect(r.artifacts, JSON.stringify(r.diagnostics)).toBeDefined();
      await withNetns((ns) => {
        const sets = r.artifacts!.find((x) => x.file === 'ipsets');
        if (sets) expect(ns.loadSets(sets.content).stderr).toBe('');
        for (const a of r.artifacts!.filter((x) => x.file.startsWith('rules.'))) {
          const family = a.file === 'rules.v4' ? 'ipv4' : 'ipv6';
          const loaded = ns.restore(backend, family, a.content);
          expect(loaded.stderr, `${a.file} was refused by the kernel`).toBe('');
          expect(loaded.status).toBe(0);
          expect(ruleComments(ns.save(backend, family))).toEqual(ruleComments(a.content));
        }
      });
    });
  });
}
