import fc from 'fast-check';

/** Random policies that the schema accepts, covering every section and both families. */
const v4 = fc.tuple(fc.integer({ min: 1, max: 223 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 254 })).map((p) => p.join('.'));
const v4cidr = fc.tuple(v4, fc.integer({ min: 8, max: 32 })).map(([a, n]) => `${a}/${n}`);
const v6 = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff })).map(([a, b]) => `2001:db8:${a.toString(16)}::${b.toString(16)}`);
const v6cidr = fc.tuple(v6, fc.integer({ min: 32, max: 128 })).map(([a, n]) => `${a}/${n}`);
export const address = fc.oneof(v4, v4cidr, v6, v6cidr);
const addrs = fc.oneof(address, fc.array(address, { minLength: 1, maxLength: 4 }));
const port = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.tuple(fc.integer({ min: 1, max: 60000 }), fc.integer({ min: 0, max: 100 })).map(([a, n]) => `${a}-${a + n}`));
const ports = fc.oneof(port, fc.array(port, { minLength: 1, maxLength: 20 }));
const l4 = fc.constantFrom('tcp', 'udp', 'sctp');
const protos = fc.oneof(l4, fc.uniqueArray(l4, { minLength: 1, maxLength: 3 }));
const action = fc.constantFrom('allow', 'deny', 'drop', 'reject');
const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
const iface = fc.constantFrom('eth0', 'eth1', 'wan', 'br+');
const family = fc.constantFrom('ipv4', 'ipv6', 'both');
const rate = fc.tuple(fc.integer({ min: 1, max: 1000 }), fc.constantFrom('second', 'minute', 'hour')).map(([n, u]) => `${n}/${u}`);
const log = fc.oneof(fc.boolean(), fc.record({ prefix: fc.stringMatching(/^[a-z][a-z: -]{0,27}$/), rate, burst: fc.integer({ min: 1, max: 100 }) }, { requiredKeys: [] }));

const portRule = fc.record({ name, proto: protos, port: ports }, { requiredKeys: ['port'] });
const icmpRule = fc.record({ name, proto: fc.constant('icmp'), 'icmp-type': fc.constantFrom('echo-request', 'destination-unreachable', 'time-exceeded') }, { requiredKeys: ['proto'] });
const filterBase = { action, family, log };

const isV6 = (a: string): boolean => a.includes(':');
const asList = (v: unknown): string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : (v as string[]));

/**
 * Keeps a random rule consistent about families, as an author would: addresses of an explicitly
 * single-family rule are of that family, and source and destination share a family.
 */
function consistentFamilies(r: Record<string, unknown>): Record<string, unknown> {
  const out = { ...r };
  const keep = (f: (a: string) => boolean) => {
    for (const k of ['from', 'to', 'except', 'via']) {
      if (out[k] === undefined || asList(out[k]).some((x) => typeof x !== 'string')) continue;
      const kept = asList(out[k]).filter(f);
      if (kept.length === 0) delete out[k];
      else out[k] = kept;
    }
  };
  if (out.family === 'ipv4') keep((a) => !isV6(a));
  if (out.family === 'ipv6') keep(isV6);
  const fams = (k: string) => new Set(asList(out[k]).map((a) => (isV6(a) ? 6 : 4)));
  if (out.from !== undefined && out.to !== undefined && ![...fams('from')].some((f) => fams('to').has(f))) delete out.to;
  if (Array.isArray(out.except) && out.except.some((e) => typeof e === 'object')) {
    out.except = (out.except as Record<string, unknown>[]).map((e) => {
      const { family: _f, ...rest } = consistentFamilies({ ...e, family: out.family });
      return rest;
    });
  }
  return out;
}

const inbound = fc.oneof(
  fc.tuple(portRule, fc.record({ ...filterBase, from: addrs, to: addrs, interface: iface, except: addrs, others: fc.constantFrom('deny', 'drop', 'reject', 'pass') }, { requiredKeys: [] })),
  fc.tuple(icmpRule, fc.record({ ...filterBase, from: addrs }, { requiredKeys: [] })),
).map(([a, b]) => {
  const r: Record<string, unknown> = { ...a, ...b };
  const fixed = consistentFamilies(r);
  if (fixed.others !== undefined && (fixed.from === undefined || (fixed.action ?? 'allow') !== 'allow')) delete fixed.others;
  return fixed;
});
const outbound = fc.tuple(portRule, fc.record({ ...filterBase, to: addrs, from: addrs, interface: iface, except: addrs }, { requiredKeys: [] })).map(([a, b]) => consistentFamilies({ ...a, ...b }));
const forward = fc.tuple(portRule, fc.record({ ...filterBase, from: addrs, to: addrs, in: iface, out: iface, except: addrs }, { requiredKeys: [] })).map(([a, b]) => consistentFamilies({ ...a, ...b }));
const user = fc.record({
  name,
  user: fc.oneof(fc.integer({ min: 0, max: 65000 }), fc.constantFrom('nobody', 'daemon', '1000-1010')),
  outbound: fc.constantFrom('deny', 'drop', 'reject'),
  except: fc.array(fc.record({ name, to: addrs, port: ports, proto: protos }, { requiredKeys: [] }), { maxLength: 3 }),
  family,
  log,
}, { requiredKeys: ['user'] }).map(consistentFamilies);
const limit = fc.record({ name, proto: protos, port: ports, rate, burst: fc.integer({ min: 1, max: 10000 }), per: fc.constantFrom('source', 'all'), chain: fc.constantFrom('input', 'forward'), interface: iface, from: addrs, action: fc.constantFrom('deny', 'drop', 'reject'), log }, { requiredKeys: ['rate'] });
const redirect = fc.record({ name, proto: fc.constantFrom('tcp', 'udp'), port: fc.integer({ min: 1, max: 65535 }), 'to-port': fc.integer({ min: 1, max: 65535 }), from: addrs, interface: iface, local: fc.boolean(), 'hide-target': fc.boolean(), family }, { requiredKeys: ['port', 'to-port'] }).map(consistentFamilies);
const mark = fc.record({ name, mark: fc.integer({ min: 1, max: 0xffffffff }), proto: protos, port: ports, to: addrs, traffic: fc.constantFrom('all', 'local'), table: fc.integer({ min: 1, max: 250 }), via: fc.constantFrom('192.0.2.1', '2001:db8::1') }, { requiredKeys: ['mark'] });
const limitFixed = limit.map(consistentFamilies);
const masquerade = fc.record({ name, out: iface, from: addrs, to: addrs, family }, { requiredKeys: ['out'] }).map(consistentFamilies);
const snat = fc.record({ name, out: iface, from: addrs, 'to-source': fc.constantFrom('192.0.2.9', '2001:db8::9', ['192.0.2.9', '2001:db8::9']), family }, { requiredKeys: ['out', 'to-source'] }).map(consistentFamilies);
const forwardPort = fc.record({
  // Both families: consistentFamilies keeps the one a single-family forward is of (`to` is required).
  name, proto: fc.constantFrom('tcp', 'udp'), port: fc.integer({ min: 1, max: 65535 }), to: fc.constant(['10.9.0.5', 'fd00:9::5']),
  'to-port': fc.integer({ min: 1, max: 65535 }), interface: iface, from: addrs, family, log,
}, { requiredKeys: ['port', 'to', 'interface'] }).map(consistentFamilies);
const notrack = fc.record({ name, proto: protos, port: ports, from: addrs, to: addrs, interface: iface, family }, { requiredKeys: ['port', 'to'] }).map(consistentFamilies);
const helper = fc.record({ name, helper: fc.constantFrom('ftp', 'tftp', 'sip'), direction: fc.constantFrom('in', 'out', 'both'), from: addrs, to: addrs, family }, { requiredKeys: ['helper'] }).map(consistentFamilies);
const chainPolicy = fc.constantFrom('accept', 'drop', 'reject');

export const policyArb = fc.record({
  version: fc.constant(1),
  defaults: fc.record({ input: chainPolicy, forward: chainPolicy, output: chainPolicy, deny: fc.constantFrom('drop', 'reject'), established: fc.boolean(), 'icmpv6-essentials': fc.boolean(), 'drop-invalid': fc.boolean(), order: fc.constantFrom('allow-first', 'as-written') }, { requiredKeys: [] }),
  interfaces: fc.constant({ wan: 'eth0' }),
  inbound: fc.array(inbound, { maxLength: 6 }),
  outbound: fc.array(outbound, { maxLength: 4 }),
  forward: fc.array(forward, { maxLength: 3 }),
  users: fc.array(user, { maxLength: 2 }),
  limits: fc.array(limitFixed, { maxLength: 2 }),
  redirects: fc.array(redirect, { maxLength: 2 }),
  marks: fc.array(mark, { maxLength: 2 }),
  masquerade: fc.array(masquerade, { maxLength: 1 }),
  snat: fc.array(snat, { maxLength: 1 }),
  forwards: fc.array(forwardPort, { maxLength: 2 }),
  notrack: fc.array(notrack, { maxLength: 1 }),
  helpers: fc.array(helper, { maxLength: 1 }),
  logging: fc.record({ prefix: fc.constantFrom('ipf: ', 'drop '), rate, burst: fc.integer({ min: 1, max: 50 }), dropped: fc.boolean() }, { requiredKeys: [] }),
}, { requiredKeys: ['version'] });
