import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { XtablesVariant } from '../../src/verify/netns.js';
import type { Host, Lab } from './lab.js';

/**
 * Makes the lab's server a Docker 28 host: Docker's chains and NAT (test/docker28), a docker0
 * bridge and a "container" namespace behind it at 172.17.0.2, serving tcp 80 and 5432, which
 * the host publishes as 8080 and 15432. Returns the container.
 */
export async function dockerHost(l: Lab, backend: XtablesVariant): Promise<Host> {
  const srv = l.server.ns;
  for (const [family, file] of [['ipv4', 'docker.v4'], ['ipv6', 'docker.v6']] as const) {
    l.check(srv.restore(backend, family, readFileSync(join('test/docker28', file), 'utf8')), `docker ${file}`);
  }
  const ctr = l.makeNs('ctr');
  l.check(srv.exec(['ip', 'link', 'add', 'docker0', 'type', 'bridge']));
  l.check(srv.exec(['ip', 'addr', 'add', '172.17.0.1/16', 'dev', 'docker0']));
  l.check(srv.exec(['ip', 'link', 'set', 'docker0', 'up']));
  l.check(srv.exec(['ip', 'link', 'add', 'vethctr', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ctr.name]));
  l.check(srv.exec(['ip', 'link', 'set', 'vethctr', 'master', 'docker0', 'up']));
  l.check(ctr.exec(['ip', 'addr', 'add', '172.17.0.2/16', 'dev', 'eth0']));
  l.check(ctr.exec(['ip', 'link', 'set', 'eth0', 'up']));
  l.check(ctr.exec(['ip', 'route', 'add', 'default', 'via', '172.17.0.1']));
  l.check(srv.exec(['sysctl', '-qw', 'net.ipv4.ip_forward=1']));
  const container: Host = { name: 'ctr', ns: ctr, v4: '172.17.0.2', v6: '' };
  await l.serve(container, ['tcp:80', 'tcp:5432']);
  return container;
}
