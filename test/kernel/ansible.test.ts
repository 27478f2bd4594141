import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelLab, run } from '../../src/verify/netns.js';
import { Throwaway, withThrowaway } from '../helpers/throwaway.js';

/**
 * examples/ansible/deploy.yml run by Debian's ansible-core against namespaces as hosts, over real
 * SSH: a controller namespace, and two hosts each running sshd on a link to it. The playbook ships
 * each host's compiled files, applies them with a confirmation that comes over a new SSH
 * connection, and checks for drift. A second run changes nothing. A host whose new policy cuts
 * SSH from the controller is not confirmed, and must be back on the policy it ran before.
 */
const lab = kernelLab();
const TOOLS = ['ansible-playbook', 'sshd', 'ssh', 'ssh-keygen'];
const have = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool} || test -x /usr/sbin/${tool}`]).status === 0;
const CLI = resolve('dist/src/cli/bin.js');
// The window counts from just before the change: Ansible's apply, reconnection and confirmation
// must fit in it on a loaded CI machine.
const CONFIRM_SECONDS = 15;

/** Waits until `done()` holds, or `ms` have passed (the assertions after it then say what is wrong). */
const until = async (done: () => boolean, ms: number): Promise<void> => {
  for (const end = Date.now() + ms; !done() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 250));
};

const BASE = `defaults: { input: drop }
inbound:
  - { name: ssh from the controller, service: ssh, from: "\${controller}" }
tests:
  - { name: the controller keeps ssh, from: "\${controller}", service: ssh, expect: allow }
`;
const inventory = (h2Controller: string) => `version: 1
groups:
  all: { include: [shared/base.yaml] }
hosts:
  h1: { groups: [all], variables: { controller: 10.77.1.1 } }
  h2: { groups: [all], variables: { controller: ${h2Controller} } }
`;

describe.runIf(lab.ok)('Ansible deploys to namespaces as hosts (examples/ansible/deploy.yml)', () => {
  it('applies with a confirmation over a new connection, changes nothing the second time, and rolls back the host the new policy would cut off', async () => {
    for (const t of TOOLS) expect(have(t), `${t} is needed (apt-get install ansible-core openssh-server openssh-client)`).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'ipfence-ansible-'));
    const ok = (r: { status: number | null; stderr: string; stdout?: string }, what: string) => expect(r.status, `${what}: ${r.stderr}${r.stdout ?? ''}`).toBe(0);
    try {
      await withThrowaway(() => new Throwaway(), async (lab) => {
        // The repository: the firewall inventory with a shared base, compiled by ipfence.
        mkdirSync(join(dir, 'shared'));
        writeFileSync(join(dir, 'shared/base.yaml'), BASE);
        copyFileSync('examples/ansible/deploy.yml', join(dir, 'deploy.yml'));
        const compile = () => ok(spawnSync(process.execPath, [CLI, 'compile', '--inventory', 'hosts.yaml', '-o', 'build'], { cwd: dir, encoding: 'utf8' }), 'ipfence compile --inventory');
        writeFileSync(join(dir, 'hosts.yaml'), inventory('10.77.2.1'));
        compile();

        // The network: the controller with a link to each host.
        const ctl = lab.makeNs('ctl');
        const hosts = [1, 2].map((i) => {
          const h = lab.makeNs(`h${i}`);
          ok(ctl.exec(['ip', 'link', 'add', `to-h${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.name]), 'veth');
          ok(ctl.exec(['ip', 'addr', 'add', `10.77.${i}.1/24`, 'dev', `to-h${i}`]), 'address');
          ok(ctl.exec(['ip', 'link', 'set', `to-h${i}`, 'up']), 'link');
          ok(h.exec(['ip', 'addr', 'add', `10.77.${i}.2/24`, 'dev', 'eth0']), 'address');
          ok(h.exec(['ip', 'link', 'set', 'eth0', 'up']), 'link');
          return { name: `h${i}`, ns: h, address: `10.77.${i}.2`, root: join(dir, `h${i}`) };
      });

      // SSH: a key for the controller, and an sshd in each host that takes only it.
      ok(run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]), 'ssh-keygen');
      ok(run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'hostkey')]), 'ssh-keygen');
      copyFileSync(join(dir, 'id.pub'), join(dir, 'authorized_keys'));
      mkdirSync('/run/sshd', { recursive: true });
      // The sessions' HOME is an empty folder: root's shell reads no start-up files of the machine
      // the tests run on (a ~/.bashrc that runs `pyenv init` cost seconds on every SSH command, and
      // Ansible runs several per task).
      mkdirSync(join(dir, 'home'));
      for (const h of hosts) {
        mkdirSync(join(h.root, 'etc'), { recursive: true });
        mkdirSync(join(h.root, 'state'), { recursive: true });
        const config = join(dir, `sshd-${h.name}`);
        writeFileSync(config, [`ListenAddress ${h.address}`, `HostKey ${join(dir, 'hostkey')}`, `PidFile ${join(dir, `${h.name}.pid`)}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, `SetEnv HOME=${join(dir, 'home')}`, 'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no', 'Subsystem sftp internal-sftp', ''].join('\n'));
        lab.spawnIn(h.ns, ['/usr/sbin/sshd', '-D', '-e', '-f', config]);
      }
      // sshd writes its pid file once it listens.
      await until(() => hosts.every((h) => existsSync(join(dir, `${h.name}.pid`))), 10_000);

      // Ansible's inventory for the lab: root over SSH, each host's files and state in its own folder.
      const common = `ansible_user=root ansible_become=false ansible_python_interpreter=/usr/bin/python3 ansible_ssh_private_key_file=${join(dir, 'id')} ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=3'`;
      writeFileSync(join(dir, 'lab.ini'), `[firewalls]\n${hosts.map((h) => `${h.name} ansible_host=${h.address} ipfence_dir=${join(h.root, 'etc')} ipfence_state_dir=${join(h.root, 'state')} ipfence_confirm_seconds=${CONFIRM_SECONDS} ipfence_lock=${join(h.root, 'lock')} ${common}`).join('\n')}\n`);
      const env = { ...process.env, ANSIBLE_HOME: join(dir, 'ansible'), ANSIBLE_LOCAL_TEMP: join(dir, 'ansible/tmp'), ANSIBLE_REMOTE_TEMP: join(dir, 'ansible/remote'), ANSIBLE_SSH_CONTROL_PATH_DIR: join(dir, 'cp'), ANSIBLE_HOST_KEY_CHECKING: 'False', ANSIBLE_NOCOLOR: '1', ANSIBLE_RETRY_FILES_ENABLED: 'False',
        // A module runs over one SSH command instead of five (make a folder, copy, chmod, run, remove).
        ANSIBLE_PIPELINING: 'True' };
      const argv = ['netns', 'exec', ctl.name, 'ansible-playbook', '-i', 'lab.ini', 'deploy.yml'];
      const play = () => spawnSync('ip', argv, { cwd: dir, env, encoding: 'utf8', timeout: 180_000 });
      /** The same, in the background: `watch` runs every 250 ms until it ends. */
      const playWatching = async (watch: () => void) => {
        const child = spawn('ip', argv, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        const killer = setTimeout(() => child.kill('SIGKILL'), 180_000);
        let status: number | null | undefined;
        child.on('close', (code) => (status = code));
        while (status === undefined) {
          watch();
          await new Promise((r) => setTimeout(r, 250));
        }
        clearTimeout(killer);
        return { status, stdout, stderr };
      };
      const recap = (out: string, host: string) => new RegExp(`^${host}\\s+:\\s+(.*)$`, 'm').exec(out)?.[1] ?? `no recap for ${host}:\n${out}`;
      const live = (h: (typeof hosts)[number]) => h.ns.exec(['iptables-save', '-t', 'filter']).stdout;

      // 1. Both hosts get their firewall, confirmed over a new connection.
      const first = play();
      expect(first.status, first.stdout + first.stderr).toBe(0);
      for (const h of hosts) {
        expect(recap(first.stdout, h.name)).toMatch(/changed=[1-9].*unreachable=0\s+failed=0/);
        expect(live(h)).toContain(`-s 10.77.${h.name.slice(1)}.1/32 -p tcp -m tcp --dport 22`);
        expect(existsSync(join(h.root, 'state', 'pending'))).toBe(false);
      }
      // 2. Again: nothing changes.
      const second = play();
      expect(second.status, second.stdout).toBe(0);
      for (const h of hosts) expect(recap(second.stdout, h.name), second.stdout).toMatch(/changed=0\s+unreachable=0\s+failed=0/);

      // 3. h2's new policy lets SSH in only from elsewhere: the confirmation cannot come, and it rolls back.
      writeFileSync(join(dir, 'hosts.yaml'), inventory('192.0.2.99'));
      compile();
      // Watched while the play runs: on a loaded machine the play may outlast the window, and then
      // the rollback has come before it ends.
      let unconfirmedLive = false;
      const third = await playWatching(() => {
        unconfirmedLive ||= live(hosts[1]!).includes('-s 192.0.2.99/32');
      });
      expect(third.status, third.stdout).not.toBe(0);
      expect(recap(third.stdout, 'h1')).toMatch(/changed=0\s+unreachable=0\s+failed=0/);
      expect(recap(third.stdout, 'h2')).toMatch(/unreachable=1/);
      expect(unconfirmedLive, 'the unconfirmed policy is live during its window').toBe(true);
      // The watcher rolls back when the window ends (counted from before the apply, so less than
      // CONFIRM_SECONDS from here), and its last step moves pending/ to rolled-back/: wait for
      // that, as long as a fixed wait did, instead of always waiting all of it.
      const h2State = join(hosts[1]!.root, 'state');
      await until(() => existsSync(join(h2State, 'rolled-back')) && !existsSync(join(h2State, 'pending')), (CONFIRM_SECONDS + 4) * 1000);
      const after = live(hosts[1]!);
      expect(after, 'h2 is back on the policy it ran before').toContain('-s 10.77.2.1/32 -p tcp -m tcp --dport 22');
      expect(after).not.toContain('192.0.2.99');
      // The controller gets in again; the drift check says the host does not run what was shipped.
      const fourth = play();
      expect(recap(fourth.stdout, 'h2')).toMatch(/unreachable=0\s+failed=1/);
      expect(fourth.stdout).toContain('DRIFT');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 420_000);
});
