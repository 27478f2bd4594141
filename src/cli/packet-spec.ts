import { familyRecord } from '../model/family.js';
import type { Direction, Family } from '../model/ir.js';
import { readAddress } from '../packet/addresses.js';
import { PROTO_NUMBERS, STATES, type Packet } from '../packet/space.js';
import { UsageError } from './options.js';

/** One packet as explain takes it, with the way it goes and its family. */
export interface PacketSpec {
  readonly packet: Packet;
  readonly family: Family;
  readonly direction: Direction;
}

export const PACKET_SYNTAX = "[tcp|udp|sctp|icmp] SRC[:PORT] -> DST[:PORT] [ICMP-TYPE] [in IFACE] [out IFACE] [user U] [group G] [state NEW|ESTABLISHED|RELATED|INVALID]";

/**
 * `tcp 203.0.113.5:40000 -> 10.0.0.1:8445 in eth0`: IPv6 addresses with a port in brackets
 * (`[2001:db8::1]:443`). The way it goes follows from its interfaces and owner: `in` and `out`
 * both, forwarded; `out` or a `user`/`group`, from this host; otherwise to it.
 */
export function parsePacketSpec(text: string): PacketSpec {
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  const fail = (why: string): never => {
    throw new UsageError(`explain: ${why}; write ${PACKET_SYNTAX}`);
  };
  let proto = 'tcp';
  if (words[0] !== undefined && (words[0] in PROTO_NUMBERS || words[0] === 'icmp')) proto = words.shift()!;
  const arrow = words.indexOf('->');
  if (arrow !== 1 || words.length < 3) fail(`'${text}' is not a packet`);
  const src = endpoint(words[0]!, fail);
  const dst = endpoint(words[2]!, fail);
  if (src.family !== dst.family) fail(`${src.address} and ${dst.address} are of different families`);
  const family = src.family;
  const rest = words.slice(3);
  const opts: Record<string, string> = {};
  let icmpName: string | undefined;
  while (rest.length > 0) {
    const key = rest.shift()!;
    if (['in', 'out', 'user', 'group', 'state'].includes(key)) {
      const value = rest.shift();
      if (value === undefined) fail(`'${key}' needs a value`);
      if (opts[key] !== undefined) fail(`'${key}' is given twice`);
      opts[key] = value!;
    } else if (proto === 'icmp' && icmpName === undefined) icmpName = key;
    else fail(`unknown word '${key}'`);
  }
  const state = (opts.state ?? 'NEW').toUpperCase();
  if (!(STATES as readonly string[]).includes(state)) fail(`unknown state '${opts.state}'`);
  const record = familyRecord(family);
  let icmp: Packet['icmp'];
  if (proto === 'icmp') {
    const t = record.icmp[icmpName ?? 'echo-request'];
    if (t === undefined) fail(`unknown ${record.label} ICMP type '${icmpName}'; known: ${Object.keys(record.icmp).join(', ')}`);
    icmp = { type: t!.type, code: t!.code ?? 0 };
  } else if (dst.port === undefined) fail(`a ${proto} packet needs a destination port (${dst.address}:PORT)`);
  const direction: Direction = opts.in !== undefined && opts.out !== undefined ? 'forward' : opts.out !== undefined || opts.user !== undefined || opts.group !== undefined ? 'out' : 'in';
  for (const k of ['in', 'out'] as const) if (opts[k] !== undefined && !/^[A-Za-z0-9_.:@-]{1,15}$/.test(opts[k]!)) fail(`'${opts[k]}' is not an interface name`);
  const packet: Packet = {
    src: src.address,
    dst: dst.address,
    proto: proto === 'icmp' ? record.icmpNumber : PROTO_NUMBERS[proto]!,
    ...(dst.port !== undefined && proto !== 'icmp' ? { dport: dst.port } : {}),
    ...(src.port !== undefined && proto !== 'icmp' ? { sport: src.port } : {}),
    ...(icmp ? { icmp } : {}),
    ...(opts.in !== undefined ? { in: opts.in } : {}),
    ...(opts.out !== undefined ? { out: opts.out } : {}),
    ...(opts.user !== undefined ? { uid: opts.user } : {}),
    ...(opts.group !== undefined ? { gid: opts.group } : {}),
    state: state as Packet['state'],
  };
  return { packet, family, direction };
}

function endpoint(word: string, fail: (why: string) => never): { address: string; family: Family; port?: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(word) ?? (word.split(':').length === 2 ? /^([^:]+):(\d+)$/.exec(word) : null);
  const address = m ? m[1]! : word;
  const port = m?.[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && !(port >= 1 && port <= 65535)) fail(`port ${m![2]} is outside 1-65535`);
  const parsed = readAddress(address);
  if (typeof parsed === 'string' || parsed.prefix !== familyRecord(parsed.family).bits) fail(`'${address}' is not an IPv4 or IPv6 address`);
  return { address, family: (parsed as Exclude<typeof parsed, string>).family, ...(port !== undefined ? { port } : {}) };
}
