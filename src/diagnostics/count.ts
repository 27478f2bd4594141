/**
 * A count as people read it, with thousands separators (50,003), as toLocaleString('en') writes
 * it but without ICU: the first toLocaleString of a process initialises ICU's number formatting,
 * about 9 ms that every run paid when the checks' docs were built at start-up.
 */
export function countText(n: number): string {
  const digits = String(Math.trunc(Math.abs(n)));
  let out = '';
  for (let end = digits.length; end > 0; end -= 3) out = end - 3 > 0 ? `,${digits.slice(end - 3, end)}${out}` : `${digits.slice(0, end)}${out}`;
  return n < 0 ? `-${out}` : out;
}
