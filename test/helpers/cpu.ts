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
