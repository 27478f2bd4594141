import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';
import { gcc } from '../../src/cli/formatters/gcc.js';

/** A policy and the files it includes, compiled as the CLI would after reading them. */
function composed(root: string, files: Record<string, string>, variables?: Record<string, unknown>) {
  const includes = new Map(Object.entries(files).map(([path, text]) => [path, { text, hash: '' }]));
  const vars = variables && new Map(Object.entries(variables).map(([k, value]) => [k, { value, at: { file: 'hosts.yaml', line: 9, col: 9 } }]));
  const r = compile(root, 'hosts/web1.yaml', 'web1.yaml', { includes, ...(vars ? { variables: vars } : {}) });
  const v4 = r.artifacts?.find((a) => a.file === 'rules.v4')?.content ?? '';
  const related = r.diagnostics.flatMap((d) => (d.related ?? []).map((x) => `${x.file}:${x.line}:${x.col}: ${x.message}`));
  return { ...r, v4, report: gcc(r.diagnostics), related };
}

const BASE = 'addresses:\n  admins: [192.0.2.10]\ninbound:\n  - { name: ssh, port: 22, from: admins }\n';

describe('include', () => {
  it("puts the included rules first, in include order, and joins the address books", () => {
    const r = composed('version: 1\ninclude: [../shared/base.yaml, ../shared/web.yaml]\ninbound:\n  - { name: own, port: 9000 }\n', {
      'shared/base.yaml': BASE,
      'shared/web.yaml': 'inbound:\n  - { name: web, port: 80, from: admins }\n',
    });
    expect(r.report).toBe('');
    const order = r.v4.split('\n').filter((l) => l.startsWith('-A IPFENCE-INPUT -s') || l.includes('"own"')).map((l) => /--comment "([^"]+)"/.exec(l)![1]);
    expect(order).toEqual(['ssh', 'web', 'own']);
  });

  it('reports a mistake at the included file, with the chain of includes that led there', () => {
    const r = composed('version: 1\ninclude: ../shared/web.yaml\n', { 'shared/web.yaml': 'include: base.yaml\n', 'shared/base.yaml': 'inbound:\n  - { port: 70000 }\n' });
    expect(r.report).toContain("shared/base.yaml:2:13: error: 'inbound[0].port' must be between 1 and 65535, not 70000");
    expect(r.related).toEqual(["shared/web.yaml:1:10: 'shared/base.yaml' is included here", "hosts/web1.yaml:2:10: 'shared/web.yaml' is included here"]);
  });

  it('refuses a loop, naming where the file was first included', () => {
    const r = composed('version: 1\ninclude: ../shared/a.yaml\n', { 'shared/a.yaml': 'include: b.yaml\n', 'shared/b.yaml': 'include: a.yaml\n' });
    expect(r.report).toContain("shared/b.yaml:1:10: error: including 'a.yaml' makes a loop: shared/a.yaml -> shared/b.yaml -> shared/a.yaml [include-invalid]");
    expect(r.related).toContain("hosts/web1.yaml:2:10: 'shared/a.yaml' is first included here");
    expect(r.artifacts).toBeUndefined();
  });

  it('refuses one name defined twice differently, naming both; the same definition twice is one', () => {
    const twice = composed('version: 1\ninclude: [../a.yaml, ../b.yaml]\n', { 'a.yaml': 'addresses: { db: [10.0.0.1] }\n', 'b.yaml': 'addresses: { db: [10.0.0.2] }\n' });
    expect(twice.report).toContain('b.yaml:1:14: error: `addresses.db` is defined twice, differently');
    expect(twice.related).toContain('a.yaml:1:14: the other definition');
    expect(composed('version: 1\ninclude: [../a.yaml, ../b.yaml]\n', { 'a.yaml': 'addresses: { db: [10.0.0.1] }\n', 'b.yaml': 'addresses: { db: [10.0.0.1] }\n' }).report).toBe('');
  });

  it("refuses the host's own keys in an included file, paths out of the directory, absolute paths and other files", () => {
    expect(composed('version: 1\ninclude: ../x.yaml\n', { 'x.yaml': 'ownership: coexist\n' }).report).toContain("x.yaml:1:1: error: 'ownership' cannot be included");
    expect(composed('version: 1\ninclude: ../../etc/x.yaml\n', {}).report).toContain("hosts/web1.yaml:2:10: error: '../../etc/x.yaml' leads out of the directory ipfence runs in");
    expect(composed('version: 1\ninclude: /etc/shadow.yaml\n', {}).report).toContain("'/etc/shadow.yaml' is an absolute path");
    expect(composed('version: 1\ninclude: ../secrets.json\n', {}).report).toContain("'../secrets.json' is not a .yaml or .yml file");
  });
});

describe('variables', () => {
  it('refuses `variables` that is not a mapping, as the schema does any other section (it was dropped unread)', () => {
    for (const [v, what] of [['5', '5'], ['[a]', 'a list']] as const) {
      const r = compile(`version: 1\nvariables: ${v}\ninbound:\n  - { port: 22 }\n`, 'p.yaml');
      expect(gcc(r.diagnostics)).toBe(`p.yaml:2:12: error: 'variables' must be a mapping, not ${what} [schema-type]\n`);
    }
  });
  it('a value that is one reference becomes the variable (a list); inside text, its text; the inventory wins over the policy', () => {
    const r = composed('version: 1\nvariables: { web: [192.0.2.1, 192.0.2.2], port: 8080 }\ninbound:\n  - { name: "web on ${port}", port: "${port}", to: "${web}" }\n', {}, { port: 8443 });
    expect(r.report).toBe('');
    expect(r.v4).toContain('-A IPFENCE-INPUT -d 192.0.2.1/32 -p tcp -m tcp --dport 8443 -m comment --comment "web on 8443" -j ACCEPT');
  });

  it('reports an unknown variable at its use, and a list inside text', () => {
    expect(composed('version: 1\ninbound:\n  - { port: 22, from: "${admins}" }\n', {}).report).toContain("hosts/web1.yaml:3:23: error: variable 'admins' is not defined");
    expect(composed('version: 1\nvariables: { l: [1, 2] }\ninbound:\n  - { name: "x ${l}", port: 22 }\n', {}).report).toContain("variable 'l' is a list or mapping, which can only stand alone in a value");
  });
});

const CLI = resolve('dist/src/cli/bin.js');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A repository of files in a new folder; ipfence runs there, as CI runs it in a checkout. */
function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ipfence-repo-'));
  dirs.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}
const ipfence = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });

const INVENTORY = `version: 1
groups:
  web: { include: [shared/web.yaml], variables: { http: [80, 443] } }
  eu: { variables: { resolver: 10.0.0.53 } }
hosts:
  web1: { policy: hosts/web1.yaml, groups: [web, eu], variables: { public: 203.0.113.10 } }
  web2: { groups: [web], variables: { public: 203.0.113.11 } }
`;
const REPO = {
  'hosts.yaml': INVENTORY,
  'shared/base.yaml': BASE,
  'shared/web.yaml': 'include: base.yaml\ninbound:\n  - { name: web, port: "${http}", to: "${public}" }\n',
  'hosts/web1.yaml': 'version: 1\noutbound:\n  - { name: dns only, to: "${resolver}", service: dns }\n',
};

describe('--inventory', () => {
  it('compiles every host into OUT/<host>/, the same bytes every time, with headers whose hash sha256sum reproduces', () => {
    const dir = repo(REPO);
    const first = ipfence(dir, 'compile', '--inventory', 'hosts.yaml', '-o', 'build');
    expect(first.stderr).toBe('ipfence: wrote 2 hosts to build/: web1, web2\n');
    expect(first.status).toBe(0);
    expect(readdirSync(join(dir, 'build')).sort()).toEqual(['web1', 'web2']);
    const web1 = readFileSync(join(dir, 'build/web1/rules.v4'), 'utf8');
    expect(web1).toContain('-A IPFENCE-INPUT -d 203.0.113.10/32 -p tcp -m multiport --dports 80,443 -m comment --comment "web" -j ACCEPT');
    expect(web1).toContain('-d 10.0.0.53/32 -p udp -m udp --dport 53 -m comment --comment "dns only"');
    expect(readFileSync(join(dir, 'build/web2/rules.v4'), 'utf8')).toContain('-d 203.0.113.11/32');
    const vars = createHash('sha256').update(JSON.stringify({ http: [80, 443], public: '203.0.113.10', resolver: '10.0.0.53' })).digest('hex');
    const sum = execFileSync('sh', ['-c', `(sha256sum hosts/web1.yaml shared/web.yaml shared/base.yaml; echo '${vars}  variables') | sha256sum`], { cwd: dir, encoding: 'utf8' }).split(' ')[0];
    expect(web1).toContain(`(sha256 ${sum})`);
    ipfence(dir, 'compile', '--inventory', 'hosts.yaml', '-o', 'again');
    for (const h of ['web1', 'web2']) for (const f of ['rules.v4', 'rules.v6', 'apply.sh']) expect(readFileSync(join(dir, 'again', h, f), 'utf8')).toBe(readFileSync(join(dir, 'build', h, f), 'utf8'));
  });

  it('writes nothing when one host fails, and check reports every host in one run', () => {
    const dir = repo({
      ...REPO,
      'hosts.yaml': INVENTORY.replace('web2: { groups: [web]', 'web2: { policy: hosts/web2.yaml, groups: [web]'),
      'hosts/web1.yaml': 'version: 1\ninbound:\n  - { port: 70000 }\n',
      'hosts/web2.yaml': 'version: 1\noutbound:\n  - { to: "${nowhere}" }\n',
    });
    const r = ipfence(dir, 'compile', '--inventory', 'hosts.yaml', '-o', 'build', '-f', 'gcc');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("hosts/web1.yaml:3:13: error: 'inbound[0].port' must be between 1 and 65535, not 70000");
    expect(() => readdirSync(join(dir, 'build'))).toThrow();
    const c = ipfence(dir, 'check', '--inventory', 'hosts.yaml', '-f', 'gcc');
    expect(c.status).toBe(1);
    expect(c.stdout).toContain("hosts/web1.yaml:3:13: error: 'inbound[0].port' must be between 1 and 65535, not 70000");
    expect(c.stdout).toContain("hosts/web2.yaml:3:11: error: variable 'nowhere' is not defined");
  });

  it('reports an unknown group, a host name that cannot be a folder, and two groups giving one variable differently', () => {
    const dir = repo({
      'hosts.yaml': 'version: 1\ngroups:\n  a: { variables: { x: 1 } }\n  b: { variables: { x: 2 } }\nhosts:\n  h1: { groups: [a, b] }\n  "../evil": {}\n  h2: { groups: [c] }\n',
    });
    const r = ipfence(dir, 'check', '--inventory', 'hosts.yaml', '-f', 'gcc');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("hosts.yaml:6:21: error: host 'h1': groups 'a' and 'b' give variable 'x' different values");
    expect(r.stdout).toContain("hosts.yaml:7:3: error: '../evil' cannot be a host name");
    expect(r.stdout).toContain("hosts.yaml:8:18: error: no group 'c' in `groups`");
  });

  it('says a finding of a shared file once, with the other hosts it is found in', () => {
    const dir = repo({ ...REPO, 'shared/base.yaml': BASE.replace('from: admins }', 'from: admins }\nusers:\n  - { name: www, user: www-data }') });
    const c = ipfence(dir, 'check', '--inventory', 'hosts.yaml', '-f', 'gcc');
    expect(c.stdout.split('\n').filter((l) => l.includes('[owner-name]'))).toHaveLength(1);
    expect(c.stdout).toContain('hosts.yaml:7:3: note: also in 1 more host: web2');
  });

  it('test --inventory proves every host\'s tests under its name, and fails when one host\'s fail', () => {
    const tests = 'tests:\n  - { name: web is open, to: "${public}", port: 80, expect: allow }\n';
    const dir = repo({ ...REPO, 'shared/web.yaml': `${REPO['shared/web.yaml']}${tests}`, 'hosts/web1.yaml': 'version: 1\ndefaults: { input: drop }\n' });
    const r = ipfence(dir, 'test', '--inventory', 'hosts.yaml');
    expect(r.stdout).toContain('web1\n  pass  web is open  shared/web.yaml:5:5\nweb2\n  pass  web is open  shared/web.yaml:5:5\n\n2 tests: 2 passed, 0 failed');
    expect(r.status).toBe(0);
    // SSH is an allowlist of the admins (shared/base.yaml): web1's own test of it from elsewhere fails.
    const closed = repo({ ...REPO, 'shared/web.yaml': `${REPO['shared/web.yaml']}${tests}`, 'hosts/web1.yaml': 'version: 1\ntests:\n  - { name: ssh from anywhere, from: 198.51.100.1, port: 22, expect: allow }\n' });
    const c = ipfence(closed, 'test', '--inventory', 'hosts.yaml');
    expect(c.stdout).toContain('web1\n  pass  web is open  shared/web.yaml:5:5\n  fail  ssh from anywhere  hosts/web1.yaml:3:5\nweb2\n  pass');
    expect(c.status).toBe(1);
  });

  it('compiles the Ansible example\'s inventory', () => {
    const r = ipfence(resolve('examples/ansible'), 'check', '--inventory', 'firewall/hosts.yaml', '--strict');
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('never reads an include through a symbolic link', () => {
    const dir = repo({ 'p.yaml': 'version: 1\ninclude: shared.yaml\n', 'real.yaml': 'inbound: []\n' });
    symlinkSync('real.yaml', join(dir, 'shared.yaml'));
    const r = ipfence(dir, 'check', 'p.yaml', '-f', 'gcc');
    expect(r.stdout).toContain("p.yaml:2:10: error: cannot read the included file 'shared.yaml': it is a symbolic link; ipfence reads no file of the checkout through a symbolic link");
    // Nor through a link to a folder outside the directory ipfence runs in.
    const outside = repo({ 'secret.yaml': 'addresses: { x: [10.0.0.1] }\n' });
    symlinkSync(outside, join(dir, 'elsewhere'));
    writeFileSync(join(dir, 'q.yaml'), 'version: 1\ninclude: elsewhere/secret.yaml\n');
    const through = ipfence(dir, 'check', 'q.yaml', '-f', 'gcc');
    expect(through.stdout).toContain("q.yaml:2:10: error: cannot read the included file 'elsewhere/secret.yaml': elsewhere on its way is a symbolic link;");
  });
});
