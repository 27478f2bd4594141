import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { familyRecord } from '../model/family.js';
import type { Family } from '../model/ir.js';

/**
 * Throwaway network namespaces, for `ipfence verify` and the kernel tests. Rules are only ever
 * loaded with `ip netns exec <ours>`, never into the root namespace, and every namespace made here
 * is deleted in a finally block.
 */

/** Which iptables a load goes through: iptables-nft or iptables-legacy (both are tested; a host has one). */
export type XtablesVariant = 'nft' | 'legacy';

const which = (cmd: string): boolean => ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].some((d) => existsSync(`${d}/${cmd}`));

export type LabStatus = { ok: true; backends: XtablesVariant[] } | { ok: false; why: string };

export function kernelLab(): LabStatus {
  if (process.getuid?.() !== 0) return { ok: false, why: 'not running as root (network namespaces need root)' };
  if (!which('ip')) return { ok: false, why: 'iproute2 (ip) is not installed' };
  const backends = (['nft', 'legacy'] as const).filter((b) => which(`iptables-${b}-restore`) && which(`ip6tables-${b}-restore`));
  if (backends.length === 0) return { ok: false, why: 'iptables is not installed' };
  if (!which('ipset')) return { ok: false, why: 'ipset is not installed' };
  const probe = `ipf-probe-${process.pid}`;
  const made = run(['ip', 'netns', 'add', probe]);
  run(['ip', 'netns', 'del', probe]);
  if (made.status !== 0) return { ok: false, why: `cannot create network namespaces: ${made.stderr.trim()}` };
  return { ok: true, backends: [...backends] };
}

export interface RunResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(argv: readonly string[], input?: string, timeoutMs = 20_000): RunResult {
  const r = spawnSync(argv[0]!, argv.slice(1), { input, encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

let counter = 0;

export const uniqueNetnsName = (tag = 'ns'): string => `ipf-${tag}-${process.pid}-${++counter}`;

export async function withNetns<T>(fn: (ns: Netns) => Promise<T> | T): Promise<T> {
  const name = uniqueNetnsName();
  const made = run(['ip', 'netns', 'add', name]);
  if (made.status !== 0) throw new Error(`ip netns add ${name}: ${made.stderr}`);
  try {
    const ns = new Netns(name);
    ns.exec(['ip', 'link', 'set', 'lo', 'up']);
    return await fn(ns);
  } finally {
    run(['ip', 'netns', 'del', name]);
  }
}

export class Netns {
  constructor(readonly name: string) {}

  exec(argv: readonly string[], input?: string, timeoutMs?: number): RunResult {
    return run(['ip', 'netns', 'exec', this.name, ...argv], input, timeoutMs);
  }

  /** A real load (never --test): the kernel checks tables, hooks and targets here. */
  restore(backend: XtablesVariant, family: Family, text: string): RunResult {
    return this.exec([`${familyRecord(family).tool}-${backend}-restore`], text);
  }

  /** Loads an `ipsets` payload the way apply.sh does: fill NAME-new, then rename it to NAME. */
  loadSets(payload: string): RunResult {
    const r = this.exec(['ipset', 'restore'], payload);
    if (r.status !== 0) return r;
    for (const m of payload.matchAll(/^create (\S+)-new /gm)) {
      const renamed = this.exec(['ipset', 'rename', `${m[1]}-new`, m[1]!]);
      if (renamed.status !== 0) return renamed;
    }
    return r;
  }

  save(backend: XtablesVariant, family: Family): string {
    const r = this.exec([`${familyRecord(family).tool}-${backend}-save`]);
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout;
  }
}
