/** Text from a policy as the files around the rules show it: headers, units and apply.sh's data. */

/**
 * A file name as the generated files' headers, apply.sh's messages and the units' Description
 * show it. File names may hold newlines (which would end the header's comment line and start a
 * rule; U+2028/2029 end a line for some readers), `$`, quotes or backslashes (apply.sh once echoed
 * the name inside double quotes, as root), and format characters: bidi controls (U+202A-202E,
 * U+2066-2069, U+200E/F, U+061C) that make a header read as something else in a terminal or a
 * review, zero-width ones that hide. Those, and lone surrogates, become `?`, as ls -q shows them:
 * the name is only ever displayed.
 */
export const displayName = (name: string): string => name.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}$`"\\]/gu, '?');

/** A displayed value in a systemd unit's setting: `%` starts a specifier there (`%h`, `%n`), `%%` is a `%`. */
export const unitText = (text: string): string => text.replace(/%/g, '%%');

/**
 * A value as one shell word: inside single quotes nothing is special, and a `'` becomes `'\''`
 * (close, an escaped quote, reopen). Every value apply.sh's data header holds goes through this
 * and nothing else, so no policy string can end its quote early. NUL cannot be in a shell word.
 */
export function shellQuote(value: string): string {
  if (value.includes('\u0000')) throw new Error('NUL reached the shell quoting');
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
