/**
 * How deep a YAML text nests, found by reading it as text: block indentation, `- ` entries and
 * flow brackets outside quotes and comments. YAML libraries read nesting by recursion, and 3,000
 * nested `[` end in a stack overflow; a policy nests about six levels. Block scalars (`|`, `>`)
 * are text, and so are their lines.
 */
export const MAX_NESTING = 64;

/** The offset where the text first nests deeper than `max` levels, or undefined. */
export function tooDeep(text: string, max = MAX_NESTING): number | undefined {
  const indents: number[] = [];
  let flow = 0;
  let quote: '' | "'" | '"' = '';
  // The indentation of a block scalar's header line while reading its content lines, else -1.
  let blockScalar = -1;
  let i = 0;
  while (i < text.length) {
    const end = text.indexOf('\n', i) === -1 ? text.length : text.indexOf('\n', i);
    let k = i;
    while (k < end && text[k] === ' ') k++;
    const indent = k - i;
    const blank = k === end || text[k] === '#' || text[k] === '\r';
    if (blockScalar >= 0 && (blank || indent > blockScalar)) {
      i = end + 1;
      continue;
    }
    blockScalar = -1;
    if (blank && quote === '' ) {
      i = end + 1;
      continue;
    }
    if (flow === 0 && quote === '') {
      while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
      indents.push(indent);
    }
    let depth = indents.length;
    let valueStart = true;
    for (; k < end; k++) {
      const c = text[k]!;
      if (quote === "'") {
        if (c === "'") quote = '';
        continue;
      }
      if (quote === '"') {
        if (c === '\\') k++;
        else if (c === '"') quote = '';
        continue;
      }
      if (c === '#' && (k === i || text[k - 1] === ' ' || text[k - 1] === '\t')) break;
      if (c === "'" || c === '"') {
        if (flow > 0 || valueStart) quote = c;
        valueStart = false;
        continue;
      }
      if (c === ' ' || c === '\t') continue;
      if (flow === 0 && (c === '-' || c === '?' || c === ':') && (k + 1 === end || text[k + 1] === ' ')) {
        // An entry or key indicator: what follows it nests one level deeper.
        depth++;
        valueStart = true;
      } else if ((c === '[' || c === '{') && (flow > 0 || valueStart)) {
        flow++;
      } else if ((c === ']' || c === '}') && flow > 0) {
        flow--;
      } else if (flow === 0 && (c === '|' || c === '>') && valueStart) {
        blockScalar = indent;
        break;
      } else {
        valueStart = flow > 0 && (c === ',' || c === ':');
        continue;
      }
      if (depth + flow > max) return k;
    }
    i = end + 1;
  }
  return undefined;
}
