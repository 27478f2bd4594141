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

/**
 * A file name as the generated files' headers and apply.sh's closing message show it. File names
 * may hold newlines (which would end the header's comment line and start a rule) and `$`, quotes
 * or backslashes (apply.sh echoes the name inside double quotes, as root). Those become `?`, as
 * ls -q shows them: the name is only ever displayed.
 */
export const displayName = (name: string): string => name.replace(/[\u0000-\u001f\u007f-\u009f$`"\\]/g, '?');

/**
 * A value as one shell word: inside single quotes nothing is special, and a `'` becomes `'\''`
 * (close, an escaped quote, reopen). Every value apply.sh's data header holds goes through this
 * and nothing else, so no policy string can end its quote early. NUL cannot be in a shell word.
 */
export function shellQuote(value: string): string {
  if (value.includes('\u0000')) throw new Error('NUL reached the shell quoting');
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
