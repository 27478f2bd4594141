/**
 * A pure function that keeps its answers by argument, for values asked again and again (an
 * interface name, a CIDR text, a rate, a rule's comment). An answer depends on its argument
 * alone, so keeping it from one compile to the next changes no result; the table is bounded and
 * starts over when full, so a long run (an inventory of many hosts) does not grow it for ever.
 */
export function memo<K, V>(compute: (key: K) => V, limit = 100_000): (key: K) => V {
  const table = new Map<K, V>();
  return (key) => {
    if (table.has(key)) return table.get(key) as V;
    const value = compute(key);
    if (table.size >= limit) table.clear();
    table.set(key, value);
    return value;
  };
}
