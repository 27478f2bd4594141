import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';
import { probesOf } from '../../src/verify/probes.js';
import { sendProbes } from '../../src/verify/traffic.js';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../helpers/io.js';
import type { Artifact } from '../../src/emit/emit.js';
import { accept, chain, rule, ruleset, table } from '../../src/model/ir.js';
import { kernelLab, run } from '../../src/verify/netns.js';
import { verifyArtifacts } from '../../src/verify/verify.js';

const lab = kernelLab();

const io = memoryIO;

describe('ipfence verify without a kernel lab', () => {
  it('says why and exits 2', async () => {
    const { io: i, out } = io('version: 1\n', { kernelLab: () => ({ ok: false, why: 'not running as root' }) });
    expect(await main(['verify', '-'], i)).toBe(2);
    expect(out.stderr).toContain('verify cannot run here: not running as root');
    expect(out.stderr).toContain('sudo');
  });
});

describe.runIf(lab.ok)('ipfence verify', () => {
  it('exits 0 when every back end accepts both files', async () => {
    const { io: i, out } = io('version: 1\ndefaults: { input: drop }\ninbound:\n  - { port: 22 }\n');
    expect(await main(['verify', '-'], i)).toBe(0);
    expect(out.stderr).toContain('the kernel accepted rules.v4 and rules.v6');
  });

  it('maps a load-time refusal to the policy rule, on every back end and family', async () => {
    const { io: i, out } = io('version: 1\ninbound:\n  - { port: 80 }\nusers:\n  - { name: ghost, user: no-such-user-ipfence }\n');
    expect(await main(['verify', '-', '-f', 'gcc', '--stdin-filename', 'host.yaml'], i)).toBe(1);
    const lines = out.stdout.trim().split('\n').filter((l) => l.endsWith('[kernel-rejected]'));
    expect(out.stdout).toContain('[owner-name]');
    expect(lines).toHaveLength(2 * (lab.ok ? lab.backends.length : 0));
    for (const l of lines) expect(l).toMatch(/^host\.yaml:5:5: error: ip6?tables-restore \((nft|legacy) back end\) refused rules\.v[46] at the rule 'ghost': owner: Bad value for "--uid-owner" option: "no-such-user-ipfence" \[kernel-rejected\]$/);
  });

  it('finds the refused rule when the kernel, not the parser, refuses it (legacy reports only COMMIT)', async () => {
    const loc = (line: number) => ({ file: 'p.yaml', line, col: 5 });
    const origin = (line: number, label: string) => ({ path: [], loc: loc(line), label });
    const content = [
      '*mangle',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      '-A OUTPUT -p tcp -m tcp --dport 1 -j MARK --set-mark 1',
      '-A OUTPUT -p tcp -m tcp --dport 2 -j REJECT --reject-with tcp-reset',
      '-A OUTPUT -p tcp -m tcp --dport 3 -j MARK --set-mark 3',
      'COMMIT',
      '',
    ].join('\n');
    const output = chain('OUTPUT', 'ACCEPT', ['one', 'two', 'three'].map((label, i) => rule([], accept, origin(3 + i, label))));
    const builtins = ['PREROUTING', 'INPUT', 'FORWARD'].map((c) => chain(c, 'ACCEPT', []));
    const rs = ruleset('ipv4', [table('mangle', [...builtins, output, chain('POSTROUTING', 'ACCEPT', [])])]);
    const artifact: Artifact = { file: 'rules.v4', content, executable: false, family: 'ipv4', ruleset: rs };
    const found = await verifyArtifacts([artifact], lab.ok ? lab.backends : [], 'p.yaml');
    expect(found.map((d) => [d.code, d.line, /at the rule '(\w+)'/.exec(d.message)?.[1]])).toEqual((lab.ok ? lab.backends : []).map(() => ['kernel-rejected', 4, 'two']));
  });
});

describe.runIf(lab.ok)('ipfence verify sends the intent tests as real connections', () => {
  const examples = readdirSync('examples').filter((f) => f.endsWith('.yaml'));
  it.each(examples)('%s: the kernel gets the model verdict for every test, on every back end', async (f) => {
    const { io: i, out } = io();
    expect(await main(['verify', `examples/${f}`], i), out.stdout).toBe(0);
    expect(out.stderr).toMatch(/sent \d+ test connections? \(\d+ per back end\); the kernel agreed with the packet model on every one/);
    expect(run(['ip', 'netns', 'list']).stdout).not.toMatch(/ipf-(host|peer)-/);
  });

  it('reports, at the test, a connection whose kernel verdict is not the model one', async () => {
    const policy = 'version: 1\ndefaults: { input: drop }\ninbound:\n  - { name: web, port: 80 }\ntests:\n  - { name: web open, port: 80, expect: allow }\n  - { name: routed, direction: forward, port: 80, expect: allow }\n';
    const r = compile(policy, 'p.yaml');
    const { probes, unsent } = probesOf(r.ir!);
    expect(unsent.map((u) => [u.test.origin.label, u.why])).toEqual([['routed', 'forwarded connections are not sent yet'], ['routed', 'forwarded connections are not sent yet']]);
    expect(probes.map((p) => [p.family, p.proto, p.dst, p.port, p.model])).toEqual([['ipv4', 'tcp', '192.0.2.1', 80, 'accept'], ['ipv6', 'tcp', '2001:db8::1', 80, 'accept']]);
    // The same connections, said to be dropped: the kernel answers them, and that is reported.
    const wrong = probes.map((p) => ({ ...p, model: 'drop' as const }));
    const found = await sendProbes(r.artifacts!, lab.ok ? lab.backends : [], wrong, 'full');
    expect(found).toHaveLength(2 * (lab.ok ? lab.backends.length : 0));
    for (const d of found) expect(d).toMatchObject({ code: 'verify-disagrees', line: 6, col: 5, message: expect.stringMatching(/^test 'web open': the kernel \((nft|legacy) back end\) accepted tcp .* -> .*:80 in eth0 \(IPv[46]\), which the packet model says is dropped/) });
  });
});
