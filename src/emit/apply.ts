import { shellQuote } from './quote.js';
import { texts } from './templates.generated.js';

/**
 * apply.sh is a data header written here and a fixed body (templates/apply-body.sh, embedded by
 * `npm run gen`, with no template expressions). The header is only comments of the compiler's own
 * text and assignments `NAME='value'`, every value through shellQuote: whatever a policy's
 * strings hold, sourcing the header sets the variables to exactly them and runs nothing. Lists are
 * one value with an entry a line, so no heredoc can be ended early by its data.
 */
export interface ShellVariable {
  readonly name: string;
  readonly value: string;
  /** Why the body needs it: the compiler's own words (one line each), never policy data. */
  readonly about?: string;
}

const NAME = /^[A-Z][A-Z0-9_]*$/;

/** A comment line: text that cannot end the comment (a newline or CR would start a command). */
function shellComment(text: string): string {
  if (/[\n\r\u0000]/.test(text)) throw new Error('a line break reached a shell comment');
  return `# ${text}`;
}

/** The assignments, each `NAME='value'`, with their comments. */
export function shellData(vars: readonly ShellVariable[]): string {
  return vars
    .map((v) => {
      if (!NAME.test(v.name)) throw new Error(`not a shell variable name: ${v.name}`);
      return `${v.about === undefined ? '' : `${shellComment(v.about)}\n`}${v.name}=${shellQuote(v.value)}\n`;
    })
    .join('');
}

/** The fixed body, from its first line: the golden tests compare apply.sh up to it. */
export const APPLY_BODY: string = texts['apply-body.sh'];

/** apply.sh: the shebang, the header every generated file has, this policy's data, then the body. */
export function applyScript(generatedLine: string, vars: readonly ShellVariable[]): string {
  return `#!/bin/sh\n${shellComment(generatedLine)}\n#\n# This policy's data, written by the compile: plain assignments, each value one single-quoted\n# word. The script itself follows it.\n${shellData(vars)}\n${APPLY_BODY}`;
}
