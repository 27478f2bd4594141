import { diag, type Diagnostic, type Location } from '../../diagnostics/diagnostic.js';
import type { IR, Origin } from '../../model/ir.js';
import { OUTPUT_BYTES_LIMIT } from '../../normalize/budget.js';
import { familyRecord } from '../../model/family.js';
import { renderChain } from './render.js';

/** `add NAME-new ` and the newline around each entry of the ipsets file (ipsets.hbs). */
const SET_LINE_EXTRA = 'add -new \n'.length;

/** What the loaded files would hold: bytes of each (rule lines and set entries, without headers), and the policy rule that writes the most. */
export interface OutputSize {
  readonly total: number;
  readonly files: ReadonlyMap<string, number>;
  readonly most: { readonly loc: Location; readonly bytes: number } | undefined;
}

/**
 * The bytes of the restore files' rule lines and of the ipsets file's entries. The rules are
 * rendered once and cached (the emitter writes the same text), so measuring costs a sum. Shares
 * are counted by origin object (the rules one policy rule expands to share it) and grouped by
 * policy path; only the winner is located (an origin's file position is computed on demand).
 */
export function outputSize(ir: IR): OutputSize {
  const byOrigin = new Map<Origin, number>();
  const charge = (o: Origin, bytes: number): void => {
    byOrigin.set(o, (byOrigin.get(o) ?? 0) + bytes);
  };
  let total = 0;
  const files = new Map<string, number>();
  for (const rs of ir.rulesets) {
    let bytes = 0;
    for (const t of rs.tables) {
      for (const c of t.chains) {
        const rendered = renderChain(c, rs.family);
        for (const b of rendered.batches) bytes += Buffer.byteLength(b, 'utf8') + 1;
        // Each rule's share by its length in UTF-16 units: where the bytes come from, not how many.
        const rules = c.rules;
        for (let k = 0; k < rules.length; k++) charge(rules[k]!.origin, rendered.lengths[k]! + 1);
      }
    }
    files.set(familyRecord(rs.family).outputFile, bytes);
    total += bytes;
  }
  let setBytes = 0;
  for (const x of ir.sets) {
    let bytes = 0;
    for (const e of x.entries) bytes += e.length + x.name.length + SET_LINE_EXTRA;
    charge(x.origin, bytes);
    setBytes += bytes;
  }
  if (setBytes > 0) files.set('ipsets', setBytes);
  total += setBytes;
  const byPath = new Map<string, { origin: Origin; bytes: number }>();
  for (const [o, bytes] of byOrigin) {
    const key = o.path.join('\u0000');
    const seen = byPath.get(key);
    if (seen) seen.bytes += bytes;
    else byPath.set(key, { origin: o, bytes });
  }
  let best: { origin: Origin; bytes: number } | undefined;
  for (const p of byPath.values()) if (best === undefined || p.bytes > best.bytes) best = p;
  return { total, files, most: best && { loc: best.origin.loc, bytes: best.bytes } };
}

/**
 * The output's size against OUTPUT_BYTES_LIMIT. Past it, one `expansion-limit` error at the
 * policy rule that writes the most: the place to shorten (a long name repeated on every rule it
 * expands to, a list that multiplies it) or to move into an ipset.
 */
export function outputSizeLimit(ir: IR, limit: number = OUTPUT_BYTES_LIMIT): Diagnostic[] {
  const { total, files, most } = outputSize(ir);
  if (total <= limit || most === undefined) return [];
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  const parts = [...files].map(([f, n]) => `${f} ${mib(n)}`).join(', ');
  return [
    diag(
      'expansion-limit',
      most.loc,
      `the files this policy compiles to would hold ${mib(total)} (${parts}), past the limit of ${mib(limit)}; this rule writes the most of it (about ${mib(most.bytes)}): give it a shorter name (every rule it expands to carries it), match its long address lists as an ipset (keep \`defaults.set-threshold\` low), or split the policy across hosts`,
    ),
  ];
}
