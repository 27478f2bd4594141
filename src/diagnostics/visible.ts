/**
 * Characters that a terminal or a CI log acts on instead of showing: C0 and C1 controls, DEL, the
 * Unicode line and paragraph separators, and the bidirectional marks, overrides and isolates that can
 * make a line read as something else. A policy's keys, values and file names reach diagnostics.
 */
const ACTIVE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Text with each active character written as \xNN or \uNNNN, so that it is seen and does nothing. */
export function visible(text: string): string {
  return text.replace(ACTIVE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
