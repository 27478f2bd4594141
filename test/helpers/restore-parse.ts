/**
 * A model of how iptables-restore reads a file (iptables 1.8 xshared.c add_param_to_argv): lines,
 * `#` comments only in column 0, double quotes group, a backslash inside quotes makes the next
 * character literal, and a closing quote ends the argument. Tests use it to see a generated file
 * the way iptables will, not the way we meant it.
 */
export function tokenize(line: string): string[] {
  const args: string[] = [];
  let buf = '';
  let inQuote = false;
  let escaped = false;
  let started = false;
  const flush = () => {
    args.push(buf);
    buf = '';
    started = false;
  };
  for (const ch of line) {
    if (inQuote) {
      if (escaped) {
        buf += ch;
        escaped = false;
      } else if (ch === '\\') escaped = true;
      else if (ch === '"') {
        inQuote = false;
        flush();
      } else buf += ch;
      continue;
    }
    if (ch === '"') {
      inQuote = true;
      started = true;
      continue;
    }
    if (ch === ' ' || ch === '\t') {
      if (started || buf.length > 0) flush();
      continue;
    }
    buf += ch;
    started = true;
  }
  if (inQuote) throw new Error(`unterminated quote in: ${line}`);
  if (started || buf.length > 0) flush();
  return args;
}

export interface ParsedTable {
  readonly name: string;
  readonly chains: { name: string; policy: string }[];
  readonly rules: { chain: string; args: string[] }[];
}

export function parseRestore(text: string): ParsedTable[] {
  if (!text.endsWith('\n')) throw new Error('restore file must end with a newline');
  const tables: ParsedTable[] = [];
  let current: ParsedTable | null = null;
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    if (line.startsWith('*')) {
      if (current) throw new Error(`table ${line} opened before COMMIT`);
      current = { name: line.slice(1), chains: [], rules: [] };
    } else if (line === 'COMMIT') {
      if (!current) throw new Error('COMMIT without a table');
      tables.push(current);
      current = null;
    } else if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(' ');
      current!.chains.push({ name: name!, policy: policy! });
    } else if (line.startsWith('-A ')) {
      const args = tokenize(line);
      current!.rules.push({ chain: args[1]!, args: args.slice(2) });
    } else {
      throw new Error(`unexpected line: ${line}`);
    }
  }
  if (current) throw new Error('missing COMMIT');
  return tables;
}

/** The value following `flag` in a rule's arguments. */
export function argAfter(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i === -1 ? undefined : args[i + 1];
}

/** Table by table (iptables-save orders tables its own way): each rule's chain and comment in order. */
export function ruleComments(text: string): string[] {
  return parseRestore(text)
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((t) => t.rules.map((r) => `${t.name}/${r.chain}/${argAfter(r.args, '--comment') ?? ''}`));
}
