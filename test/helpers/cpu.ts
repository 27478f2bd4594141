/**
 * The CPU time of a call (user and system, in ms) and what it returned: the machine is shared, and
 * other processes' load does not count here, as it would in wall time.
 */
export function cpuTime<T>(f: () => T): { ms: number; value: T } {
  const t = process.cpuUsage();
  const value = f();
  const used = process.cpuUsage(t);
  return { ms: (used.user + used.system) / 1000, value };
}

/** The least CPU time of `runs` calls, and the last call's value: a shared machine's noise only ever adds. */
export function leastCpuTime<T>(runs: number, f: () => T): { ms: number; value: T } {
  let best = cpuTime(f);
  for (let i = 1; i < runs; i++) {
    const next = cpuTime(f);
    if (next.ms < best.ms) best = next;
  }
  return best;
}
