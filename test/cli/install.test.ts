import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The README's install for use outside the checkout: `npm pack`, then `npm install -g` of the
 * tarball, with no registry (a host or a CI runner behind a firewall has none). The tarball must
 * carry everything the command loads; an empty npm cache and --offline prove nothing is fetched.
 */
describe('installed from its own tarball', () => {
  it('npm pack + npm install -g --offline gives an ipfence that compiles an example to the golden files', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'ipfence-install-'));
    const npm = (args: string[], cwd: string) => spawnSync('npm', [...args, '--cache', join(tmp, 'cache'), '--no-audit', '--no-fund'], { cwd, encoding: 'utf8' });
    // The build is what `npm ci` made (dist/); pack must not rebuild it.
    const packed = npm(['pack', '--ignore-scripts', '--pack-destination', tmp], resolve('.'));
    expect(packed.status, packed.stderr).toBe(0);
    const tarball = readdirSync(tmp).find((f) => /^ipfence-.*\.tgz$/.test(f));
    expect(tarball).toBeDefined();
    const prefix = join(tmp, 'prefix');
    const installed = npm(['install', '-g', '--offline', '--prefix', prefix, join(tmp, tarball!)], tmp);
    expect(installed.status, installed.stderr).toBe(0);

    // Used as an operator would: in a folder of their own, far from this checkout.
    const work = join(tmp, 'work');
    mkdirSync(work);
    copyFileSync('examples/web-server.yaml', join(work, 'policy.yaml'));
    const r = spawnSync(join(prefix, 'bin', 'ipfence'), ['compile', 'policy.yaml', '-o', 'out'], { cwd: work, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    for (const f of ['rules.v4', 'rules.v6']) {
      // The header names the policy file, which is called policy.yaml here.
      const golden = readFileSync(join('test/fixtures/examples/web-server', f), 'utf8').replace('from web-server.yaml', 'from policy.yaml');
      expect(readFileSync(join(work, 'out', f), 'utf8'), f).toBe(golden);
    }
  });
});
