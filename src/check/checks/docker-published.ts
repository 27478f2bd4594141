import { diag, formatLocation } from '../../diagnostics/diagnostic.js';
import { readPort } from '../../values/ports.js';
import { policyLoc, type Check } from './api.js';

/** Ports of an inbound rule, as ranges (tcp by default, like the compiler). */
function ranges(port: unknown): { lo: number; hi: number }[] {
  const items = Array.isArray(port) ? port : port === undefined ? [] : [port];
  return items.flatMap((p) => {
    const r = readPort(p as number | string);
    return typeof r === 'string' ? [] : [r];
  });
}

export const dockerPublished: Check = {
  code: 'docker-published',
  kind: 'lint',
  docs: 'An inbound rule aims at a port that Docker publishes. Published ports are DNATed in PREROUTING and forwarded to the container, so INPUT never sees that traffic and the rule has no effect on it (moby/moby#4737). Restrict the port under `docker.published` instead.',
  example: 'version: 1\nownership: coexist\ninbound:\n  - { name: db-from-app, port: 5432, from: 10.20.0.0/24 }\ndocker:\n  published:\n    - { name: db, port: 5432 }\n',
  check: (input) => {
    const published = (input.policy.docker?.published ?? []).map((p, i) => ({ i, proto: p.proto ?? 'tcp', ports: ranges(p.port), name: p.name }));
    if (published.length === 0) return [];
    return (input.policy.inbound ?? []).flatMap((r, i) => {
      const protos = r.proto === undefined ? ['tcp'] : typeof r.proto === 'string' ? [r.proto] : r.proto;
      const hit = published.find((p) => protos.includes(p.proto) && ranges(r.port).some((a) => p.ports.some((b) => a.lo <= b.hi && b.lo <= a.hi)));
      if (!hit) return [];
      const at = policyLoc(input, ['docker', 'published', hit.i]);
      return [diag('docker-published', policyLoc(input, ['inbound', i]), `this inbound rule aims at a port Docker publishes ('${hit.name ?? `docker.published[${hit.i}]`}' at ${formatLocation(at)}): published traffic is forwarded to the container and never reaches INPUT; restrict it under docker.published`, [{ ...at, message: 'the published port' }], ['inbound', i])];
    });
  },
};
