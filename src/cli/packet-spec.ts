import ipaddr from 'ipaddr.js';
import { familyRecord } from '../model/family.js';
import type { Direction, Family, IR } from '../model/ir.js';
import { readAddress } from '../values/addresses.js';
import { PROTO_NUMBERS, STATES, type Packet } from '../packet/space.js';
import { didYouMean } from '../util/suggest.js';
import { UsageError } from './options.js';

/** One packet as explain takes it, with the way it goes and its family. */
export interface PacketSpec {
  readonly packet: Packet;
  readonly family: Family;
  readonly direction: Direction;
}

const PACKET_SYNTAX = "[tcp|udp|sctp|icmp] SRC[:PORT] -> DST[:PORT] [ICMP-TYPE] [in IFACE] [out IFACE] [user U] [group G] [state NEW|ESTABLISHED|RELATED|INVALID] [hoplimit 0-255]";

const KEYS = new Set(['in', 'out', 'user', 'group', 'state', 'hoplimit']);
const fail = (why: string): never => {
  throw new UsageError(`explain: ${why}; write ${PACKET_SYNTAX}`);
};

/**
 * `tcp 203.0.113.5:40000 -> 10.0.0.1:8445 in eth0`: IPv6 addresses with a port in brackets
 * (`[2001:db8::1]:443`). The way it goes follows from its interfaces and owner: `in` and `out`
 * both, forwarded; `out` or a `user`/`group`, from this host; otherwise to it. Interfaces are
 * read as written here; `resolveInterfaces` reads them as the policy names them.
 */
export function parsePacketSpec(text: string): PacketSpec {
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  let proto = 'tcp';
  // Own keys only: every word here is the user's, and `toString` is no protocol.
  if (words[0] !== undefined && (Object.hasOwn(PROTO_NUMBERS, words[0]) || words[0] === 'icmp')) proto = words.shift()!;
  const arrow = words.indexOf('->');
  if (arrow !== 1 || words.length < 3) fail(`'${text}' is not a packet`);
  const src = endpoint(words[0]!);
  const dst = endpoint(words[2]!);
  if (src.family !== dst.family) fail(`${src.address} and ${dst.address} are of different families`);
  const family = src.family;
  const rest = words.slice(3);
  const opts = new Map<string, string>();
  let icmpName: string | undefined;
  while (rest.length > 0) {
    const key = rest.shift()!;
    if (KEYS.has(key)) {
      const value = rest.shift();
      if (value === undefined) fail(`'${key}' needs a value`);
      if (opts.has(key)) fail(`'${key}' is given twice`);
      opts.set(key, value!);
    } else if (proto === 'icmp' && icmpName === undefined) icmpName = key;
    else fail(`unknown word '${key}'`);
  }
  const state = (opts.get('state') ?? 'NEW').toUpperCase();
  if (!(STATES as readonly string[]).includes(state)) fail(`unknown state '${opts.get('state')}'`);
  const record = familyRecord(family);
  let icmp: Packet['icmp'];
  if (proto === 'icmp') {
    const name = icmpName ?? 'echo-request';
    if (!Object.hasOwn(record.icmp, name)) {
      const guess = didYouMean(name, Object.keys(record.icmp));
      fail(`unknown ${record.label} ICMP type '${name}'${guess ? ` (did you mean '${guess}'?)` : ''}; known: ${Object.keys(record.icmp).join(', ')}`);
    }
    const t = record.icmp[name]!;
    icmp = { type: t.type, code: t.code ?? 0 };
  } else if (dst.port === undefined) fail(`a ${proto} packet needs a destination port (${dst.address}:PORT)`);
  let inIface = opts.get('in');
  let outIface = opts.get('out');
  const user = opts.get('user');
  const group = opts.get('group');
  const direction: Direction = inIface !== undefined && outIface !== undefined ? 'forward' : outIface !== undefined || user !== undefined || group !== undefined ? 'out' : 'in';
  // This host's own connection to itself (in lo with its user, or to a loopback address) leaves by
  // lo and comes back in: without `out lo` it was walked as if it left by another interface.
  if (direction === 'out' && outIface === undefined && (inIface === 'lo' || isLoopback(dst.address))) {
    outIface = 'lo';
    inIface = undefined;
  }
  for (const who of [user, group]) if (who !== undefined && (!OWNER.test(who) || (/^\d+$/.test(who) && Number(who) >= 2 ** 32 - 1))) fail(`'${who}' is not a user or group: a name, or a number below 4294967295`);
  // IPv6's neighbour discovery is accepted only at hop limit 255, MLD at 1: asked at the usual 64 otherwise.
  const hop = opts.get('hoplimit');
  if (hop !== undefined && (!/^\d{1,3}$/.test(hop) || Number(hop) > 255)) fail(`hoplimit is a number from 0 to 255, not '${hop}'`);
  if (hop !== undefined && !familyRecord(family).hopLimitAsked) fail("hoplimit is IPv6's: no rule ipfence writes asks an IPv4 packet's TTL");
  const packet: Packet = {
    src: src.address,
    dst: dst.address,
    proto: proto === 'icmp' ? record.icmpNumber : PROTO_NUMBERS[proto]!,
    ...(dst.port !== undefined && proto !== 'icmp' ? { dport: dst.port } : {}),
    ...(src.port !== undefined && proto !== 'icmp' ? { sport: src.port } : {}),
    ...(icmp ? { icmp } : {}),
    ...(inIface !== undefined ? { in: inIface } : {}),
    ...(outIface !== undefined ? { out: outIface } : {}),
    ...(user !== undefined ? { uid: ownerText(user) } : {}),
    ...(group !== undefined ? { gid: ownerText(group) } : {}),
    state: state as Packet['state'],
    ...(hop !== undefined ? { hoplimit: Number(hop) } : {}),
  };
  return { packet, family, direction };
}

/** An id as the policy writes it (`0033` is 33). */
const ownerText = (who: string): string => (/^\d+$/.test(who) ? String(Number(who)) : who);

/** A user or group as iptables' owner match takes it: a name or a number (below 2^32 - 1). */
const OWNER = /^(?:[A-Za-z_][A-Za-z0-9_.@-]{0,63}\$?|\d{1,10})$/;

/** Kernel interface names: at most 15 bytes. */
const IFACE = /^[A-Za-z0-9_.:@-]{1,15}$/;

/**
 * The packet's interfaces as the policy names them: an alias of its `interfaces:` map is its
 * kernel name (`in wan` is `in eth0`). When the policy declares interfaces, a name must be one of
 * them (alias or kernel name), lo, or a name the rules match (`eth+` matches `eth3`): anything
 * else is refused with the closest name, since a mistyped alias would otherwise be a real
 * interface no rule names, and the answer would be confidently wrong. Without `interfaces:`
 * every kernel name is taken as written, as the policy itself does.
 */
export function resolveInterfaces(spec: PacketSpec, ir: IR): PacketSpec {
  const aliases = ir.interfaces ?? new Map<string, string>();
  const ruled = ruleInterfaces(ir);
  const resolve = (name: string | undefined): string | undefined => {
    if (name === undefined) return undefined;
    const real = aliases.get(name) ?? name;
    if (!IFACE.test(real)) fail(`'${name}' is not an interface name${aliases.size > 0 ? ` nor an alias under \`interfaces\` (${[...aliases.keys()].join(', ')})` : ''}`);
    if (aliases.size === 0 || aliases.has(name) || real === 'lo' || [...aliases.values()].includes(real) || ruled.some((r) => (r.endsWith('+') ? real.startsWith(r.slice(0, -1)) : real === r))) return real;
    const known = [...aliases.keys(), ...new Set([...aliases.values(), ...ruled.filter((r) => !r.endsWith('+'))])];
    const guess = didYouMean(name, known);
    throw new UsageError(`explain: interface '${name}' is not one of this policy's${guess ? ` (did you mean '${guess}'?)` : ''}: give an alias under \`interfaces\` (${[...aliases].map(([a, k]) => `${a} = ${k}`).join(', ')}), a kernel name the rules match, or lo; to ask about another interface, declare it under \`interfaces\``);
  };
  const inIface = resolve(spec.packet.in);
  const outIface = resolve(spec.packet.out);
  const { in: _in, out: _out, ...rest } = spec.packet;
  return { ...spec, packet: { ...rest, ...(inIface !== undefined ? { in: inIface } : {}), ...(outIface !== undefined ? { out: outIface } : {}) } };
}

/** Every interface a rule of the IR matches on (`eth+` as written). */
function ruleInterfaces(ir: IR): string[] {
  const out = new Set<string>();
  for (const rs of ir.rulesets) for (const t of rs.tables) for (const c of t.chains) for (const r of c.rules) for (const m of r.matches) if (m.kind === 'in' || m.kind === 'out') out.add(m.iface);
  return [...out];
}

function endpoint(word: string): { address: string; family: Family; port?: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(word) ?? (word.split(':').length === 2 ? /^([^:]+):(\d+)$/.exec(word) : null);
  const address = m ? m[1]! : word;
  const port = m?.[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && !(port >= 1 && port <= 65535)) fail(`port ${m![2]} is outside 1-65535`);
  const parsed = readAddress(address);
  if (typeof parsed === 'string' || parsed.prefix !== familyRecord(parsed.family).bits) fail(`'${address}' is not an IPv4 or IPv6 address`);
  return { address, family: (parsed as Exclude<typeof parsed, string>).family, ...(port !== undefined ? { port } : {}) };
}

/** Whether an address is of the loopback network (127.0.0.0/8, ::1): only lo reaches it. */
function isLoopback(address: string): boolean {
  return ipaddr.isValid(address) && ipaddr.parse(address).range() === 'loopback';
}
