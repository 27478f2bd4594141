/**
 * iptables-restore splits on white space and groups only inside double quotes, where a backslash
 * makes the next character literal. Control characters are refused upstream (a newline would end
 * the line); everything else is safe once quoted this way, so a policy string can never close the
 * quote early or leave it open (the `x" -d ...` and trailing-backslash injections).
 */
const BARE = /^[A-Za-z0-9_.:/,+@=-]+$/;

export function quoteArg(arg: string): string {
  return BARE.test(arg) && !arg.startsWith('-') ? arg : quoted(arg);
}

/** Nothing to escape or refuse: the common case, one regular expression test. */
const PLAIN = /^[^\u0000-\u001f\u007f\\"]*$/;

export function quoted(text: string): string {
  if (PLAIN.test(text)) return `"${text}"`;
  if (/[\u0000-\u001f\u007f]/.test(text)) throw new Error('control character reached the emitter');
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
