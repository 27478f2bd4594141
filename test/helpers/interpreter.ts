import ipaddr from 'ipaddr.js';
import { familyRecord } from '../../src/model/family.js';
import type { Family } from '../../src/model/ir.js';
import type { Packet } from '../../src/packet/space.js';
import { parseRestore, type ParsedTable } from './restore-parse.js';

/**
 * A plain first-match interpreter of the emitted restore files, written from iptables' manual and
 * independent of the packet model: it reads the rules as text, as iptables-restore would, and
 * runs one packet through them. The model's verdicts are held to it (test/model.test.ts).
 * Rate limits: the packet is the first of its flow, so `hashlimit-above` does not match and
 * `limit` does.
 */
export type Path = 'in' | 'out' | 'forward';
const HOOKS: Record<Path, string[]> = { in: ['PREROUTING', 'INPUT'], forward: ['PREROUTING', 'FORWARD', 'POSTROUTING'], out: ['OUTPUT', 'POSTROUTING'] };
// netfilter's priorities: raw, mangle, nat (DNAT), filter, then nat (SNAT) on the way out.
const TABLES: Record<string, string[]> = {
  PREROUTING: ['raw', 'mangle', 'nat'],
  INPUT: ['mangle', 'filter', 'nat'],
  FORWARD: ['mangle', 'filter'],
  OUTPUT: ['raw', 'mangle', 'nat', 'filter'],
  POSTROUTING: ['mangle', 'nat'],
};

interface State {
  dst: string;
  dport: number;
  state: string | undefined;
  dnat: boolean;
  origdport: number;
  origdst: string;
  /** Where PREROUTING's nat sent the packet: to this host (REDIRECT) or on to another (DNAT). */
  routed?: Path;
  /** A CT target has attached its template. */
  ct?: boolean;
}

export class Interpreter {
  private readonly tables: ParsedTable[];
  private readonly sets = new Map<string, string[]>();
  /** The hook being walked (REDIRECT and DNAT in PREROUTING decide where the packet is routed). */
  private hook = '';
  private primary = '';

  constructor(
    private readonly family: Family,
    rules: string,
    ipsets = '',
  ) {
    this.tables = parseRestore(rules);
    for (const line of ipsets.split('\n')) {
      const m = /^add (\S+?)(-new)? (\S+)$/.exec(line);
      if (m) this.sets.set(m[1]!, [...(this.sets.get(m[1]!) ?? []), m[3]!]);
    }
  }

  /**
   * `primary`: the primary address of the packet's incoming interface, where a REDIRECT in
   * PREROUTING sends it (nf_nat_redirect); by default the address it was sent to (an interface
   * with that one address).
   */
  verdict(path: Path, p: Packet, primary = p.dst): 'accept' | 'drop' | 'reject' {
    // A packet in on lo was sent by this host: OUTPUT first, then back in (below).
    if (path === 'in' && p.in === 'lo') {
      const { in: _, ...sent } = p;
      return this.verdict('out', { ...sent, out: 'lo' }, primary);
    }
    this.primary = primary;
    const st: State = { dst: p.dst, dport: p.dport ?? 0, state: p.state, dnat: false, origdport: p.dport ?? 0, origdst: p.dst };
    for (let i = 0; i < HOOKS[st.routed ?? path].length; i++) {
      const hook = HOOKS[st.routed ?? path][i]!;
      this.hook = hook;
      for (const table of TABLES[hook]!) {
        // nat sees a connection's first packet only; an untracked packet none.
        if (table === 'nat' && st.state !== 'NEW') continue;
        const v = this.chain(table, hook, p, st, 0, true);
        if (v === 'drop' || v === 'reject') return v;
      }
    }
    if (path !== 'out' || p.out !== 'lo') return 'accept';
    // Sent out on lo, the packet is received again: PREROUTING and INPUT, in on lo, carrying the
    // connection OUTPUT gave it. nat set up both its translations on the way out (nf_nat_inet_fn
    // runs the rules only for a manip type not yet initialized), and CT leaves a packet that has a
    // connection alone (xt_ct_target: "Previously seen (loopback)? Ignore."), so raw changes nothing.
    const back: Packet = { ...p, in: 'lo' };
    st.ct = true;
    for (const hook of ['PREROUTING', 'INPUT']) {
      this.hook = hook;
      for (const table of TABLES[hook]!) {
        if (table === 'nat') continue;
        const v = this.chain(table, hook, back, st, 0, true);
        if (v === 'drop' || v === 'reject') return v;
      }
    }
    return 'accept';
  }

  /** A chain's verdict: accept, drop, reject, redirected (nat), or undefined (fell through or returned). */
  private chain(table: string, name: string, p: Packet, st: State, depth: number, builtin: boolean): string | undefined {
    const t = this.tables.find((x) => x.name === table);
    if (t === undefined || depth > 40) return builtin ? 'accept' : undefined;
    for (const r of t.rules.filter((x) => x.chain === name)) {
      const { matches, target, toPort, toDestination, notrack } = this.read(r.args);
      if (!matches(p, st)) continue;
      switch (target) {
        case 'ACCEPT':
          return 'accept';
        case 'DROP':
          return 'drop';
        case 'REJECT':
          return 'reject';
        case 'RETURN':
          return builtin ? this.policy(t, name) : undefined;
        case 'REDIRECT':
          st.origdport = st.dport;
          st.origdst = st.dst;
          // nf_nat_redirect: in OUTPUT, to the loopback address; in PREROUTING, to the incoming interface's primary address.
          st.dst = this.hook === 'OUTPUT' ? (this.family === 'ipv4' ? '127.0.0.1' : '::1') : this.primary;
          st.dport = toPort!;
          st.dnat = true;
          if (this.hook === 'PREROUTING') st.routed = 'in';
          return 'accept';
        case 'DNAT': {
          // --to-destination ADDR, ADDR:PORT or [ADDR]:PORT.
          const m = toDestination!.startsWith('[') ? /^\[(.*)\]:(\d+)$/.exec(toDestination!)! : toDestination!.includes('.') ? /^([^:]*)(?::(\d+))?$/.exec(toDestination!)! : [toDestination!, toDestination!];
          st.origdport = st.dport;
          st.origdst = st.dst;
          st.dst = m[1]!;
          if (m[2] !== undefined) st.dport = Number(m[2]);
          st.dnat = true;
          if (this.hook === 'PREROUTING') st.routed = 'forward';
          return 'accept';
        }
        case 'SNAT':
        case 'MASQUERADE':
          return 'accept';
        case 'CT':
          // The first CT target to match attaches its template; later ones leave the packet as it is.
          if (!st.ct) {
            st.ct = true;
            if (notrack) st.state = 'UNTRACKED';
          }
          continue;
        case 'LOG':
        case 'NFLOG':
        case 'MARK':
          continue;
        default: {
          const v = this.chain(table, target, p, st, depth + 1, false);
          if (v !== undefined) return v;
        }
      }
    }
    return builtin ? this.policy(t, name) : undefined;
  }

  private policy(t: ParsedTable, name: string): string {
    return t.chains.find((c) => c.name === name)?.policy === 'DROP' ? 'drop' : 'accept';
  }

  private read(args: readonly string[]): { matches: (p: Packet, st: State) => boolean; target: string; toPort?: number; toDestination?: string; notrack: boolean } {
    const tests: ((p: Packet, st: State) => boolean)[] = [];
    let target = '';
    let toPort: number | undefined;
    let toDestination: string | undefined;
    let notrack = false;
    let negate = false;
    let module = '';
    const rec = familyRecord(this.family);
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      const v = args[i + 1]!;
      const not = negate;
      negate = false;
      const add = (t: (p: Packet, st: State) => boolean) => tests.push(not ? (p, st) => !t(p, st) : t);
      switch (a) {
        case '!':
          negate = true;
          continue;
        case '-s':
          add((p) => inCidr(p.src, v));
          break;
        case '-d':
          add((_, st) => inCidr(st.dst, v));
          break;
        case '-i':
          add((p) => ifaceMatch(p.in, v));
          break;
        case '-o':
          add((p) => ifaceMatch(p.out, v));
          break;
        case '-p':
          add((p) => p.proto === protoNumber(v, rec.icmpNumber));
          break;
        case '-m':
          module = v;
          if (module === 'hashlimit') tests.push(() => false);
          break;
        case '--dport':
          add((_, st) => inPorts(st.dport, v));
          break;
        case '--dports':
          add((_, st) => v.split(',').some((x) => inPorts(st.dport, x)));
          break;
        case '--sport':
          add((p) => inPorts(p.sport ?? 0, v));
          break;
        case '--sports':
          add((p) => v.split(',').some((x) => inPorts(p.sport ?? 0, x)));
          break;
        case '--icmp-type':
        case '--icmpv6-type': {
          const t = Object.values(rec.icmp).find((x) => x.tool === v)!;
          add((p) => p.icmp !== undefined && p.icmp.type === t.type && (t.code === undefined || p.icmp.code === t.code));
          break;
        }
        case '--ctstate':
          add((_, st) => v.split(',').some((s) => (s === 'DNAT' ? st.dnat : s === st.state)));
          break;
        case '--ctorigdstport':
          add((_, st) => inPorts(st.origdport, v));
          break;
        case '--ctorigdst':
          add((_, st) => inCidr(st.origdst, v));
          break;
        case '--ctdir':
          add(() => v === 'ORIGINAL');
          break;
        case '--uid-owner':
          add((p) => ownerMatch(p.uid, v));
          break;
        case '--gid-owner':
          add((p) => ownerMatch(p.gid, v));
          break;
        case '--match-set': {
          const entries = this.sets.get(v) ?? [];
          const dir = args[i + 2];
          add((p, st) => entries.some((c) => inCidr(dir === 'src' ? p.src : st.dst, c)));
          i++;
          break;
        }
        case '--src-range':
        case '--dst-range': {
          const [lo, hi] = v.split('-');
          add((p, st) => inRange(a === '--src-range' ? p.src : st.dst, lo!, hi!));
          break;
        }
        case '--ttl-eq':
        case '--hl-eq':
          add((p) => (p.hoplimit ?? 64) === Number(v));
          break;
        case '-j':
          target = v;
          break;
        case '--to-ports':
          toPort = Number(v);
          break;
        case '--to-destination':
          toDestination = v;
          break;
        case '--notrack':
          notrack = true;
          continue;
        default:
          // Values of the options above, and options that do not change what matches (comments,
          // log prefixes, reject types, marks, rates of a limit).
          if (!a.startsWith('-')) continue;
          if (['--comment', '--reject-with', '--log-prefix', '--log-level', '--set-xmark', '--set-mark', '--limit', '--limit-burst', '--to-source', '--helper', '--nflog-group', '--nflog-prefix'].includes(a) || a.startsWith('--hashlimit')) {
            i++;
            continue;
          }
          throw new Error(`the interpreter does not know ${a} (module ${module})`);
      }
      // The option's value.
      if (a.startsWith('-')) i++;
    }
    return { matches: (p, st) => tests.every((t) => t(p, st)), target, toPort, toDestination, notrack };
  }
}

function protoNumber(name: string, icmp: number): number {
  return ({ tcp: 6, udp: 17, sctp: 132, icmp: 1, 'ipv6-icmp': 58, icmpv6: 58 } as Record<string, number>)[name] ?? (name.startsWith('icmp') ? icmp : Number(name));
}

function inCidr(address: string, cidr: string): boolean {
  const a = ipaddr.parse(address);
  const [net, bits] = cidr.includes('/') ? ipaddr.parseCIDR(cidr) : [ipaddr.parse(cidr), a.kind() === 'ipv4' ? 32 : 128];
  return a.kind() === net.kind() && a.match(net, bits);
}

function inRange(address: string, lo: string, hi: string): boolean {
  const n = (x: string) => ipaddr.parse(x).toByteArray().reduce((acc, b) => acc * 256n + BigInt(b), 0n);
  return n(lo) <= n(address) && n(address) <= n(hi);
}

function inPorts(port: number, spec: string): boolean {
  const [lo, hi] = spec.split(':').map(Number);
  return port >= lo! && port <= (hi ?? lo)!;
}

function ifaceMatch(name: string | undefined, spec: string): boolean {
  if (name === undefined) return false;
  return spec.endsWith('+') ? name.startsWith(spec.slice(0, -1)) : name === spec;
}

function ownerMatch(id: string | undefined, spec: string): boolean {
  if (id === undefined) return false;
  const range = /^(\d+)-(\d+)$/.exec(spec);
  if (range) return /^\d+$/.test(id) && Number(id) >= Number(range[1]) && Number(id) <= Number(range[2]);
  return id === spec;
}
