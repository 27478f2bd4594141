/**
 * A table that text from a policy or a command line indexes (ICMP names, services, formats, rate
 * units): its own entries and nothing else. A plain object literal also answers `toString`,
 * `constructor`, `hasOwnProperty` and `__proto__` from Object.prototype, which made an ICMP type
 * `toString` an internal error in a rule and "any ICMP" in a test. Frozen, without a prototype.
 */
export function lookupTable<K extends string, T>(entries: Readonly<Record<K, T>>): Readonly<Record<K, T>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<K, T>, entries));
}
