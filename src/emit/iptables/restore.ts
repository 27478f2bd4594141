import { familyRecord } from '../../model/family.js';
import type { IR, Rule, Ruleset } from '../../model/ir.js';
import type { Artifact, FileHeader } from '../backend.js';
import { template } from '../templates.js';
import { renderChain } from './render.js';

/** Where a table's rule lines go in the template's output. NUL is in no string of a ruleset: policies' strings are refused with control characters. */
const RULES_MARK = /\u0000(\d+)\u0000/;

/**
 * A restore file: the template gives its shape, with a mark where each table's rule lines go; the
 * lines themselves are the rule data (code's), and 100,000 of them are too many for a template
 * loop. Its content is concatenated (a cons string pointing at the rendered batches, not a copy).
 */
function restoreFile(rs: Ruleset, context: object): { content: string; chunks: string[] } {
  const blocks: (readonly string[])[] = [];
  const tables = rs.tables.map((t) => {
    const batches = t.chains.flatMap((c) => renderChain(c, rs.family).batches);
    blocks.push(batches);
    return { name: t.name, chains: t.chains.map((c) => ({ name: c.name, policy: c.policy ?? '-' })), rules: batches.length > 0 ? `\u0000${blocks.length - 1}\u0000` : '' };
  });
  const pieces = template('restore.hbs')({ ...context, tables }).split(RULES_MARK);
  if (pieces.length !== 2 * tables.filter((t) => t.rules !== '').length + 1) throw new Error('restore.hbs: the rule marks did not come out once per table with rules');
  const chunks: string[] = [];
  pieces.forEach((piece, i) => {
    if (i % 2 === 0) {
      if (piece !== '') chunks.push(piece);
      return;
    }
    blocks[Number(piece)]!.forEach((batch, k) => {
      if (k > 0) chunks.push('\n');
      chunks.push(batch);
    });
  });
  let content = '';
  for (const c of chunks) content += c;
  return { content, chunks };
}

/** The restore file of each family. */
export function iptablesFiles(ir: IR, header: FileHeader): Artifact[] {
  return ir.rulesets.map((rs) => {
    const rec = familyRecord(rs.family);
    const { content, chunks } = restoreFile(rs, { ...header, coexist: ir.ownership === 'coexist', label: rec.label, restoreCommand: rec.restoreCommand, outputFile: rec.outputFile });
    return {
      file: rec.outputFile,
      content,
      chunks,
      executable: false,
      ruleset: rs,
      family: rs.family,
    };
  });
}

/** The ipsets file, when the rules use sets. */
export function setsFiles(ir: IR, header: FileHeader): Artifact[] {
  const out: Artifact[] = [];
  if (ir.sets.length > 0) {
    const sets = ir.sets.map((x) => ({
      name: x.name,
      family: familyRecord(x.family).ipsetFamily,
      // Room for growth without resizing; swap accepts a different size.
      maxelem: Math.max(65536, 2 ** Math.ceil(Math.log2(x.entries.length * 2))),
      entries: x.entries,
    }));
    out.push({ file: 'ipsets', content: template('ipsets.hbs')({ ...header, sets }), executable: false });
  }
  return out;
}

/** The `index`th rule of a ruleset in file order (its `index`th `-A` line): asked for when a load fails. */
export function ruleAt(rs: Ruleset, index: number): Rule | undefined {
  let k = index;
  for (const t of rs.tables) {
    for (const c of t.chains) {
      if (k < c.rules.length) return c.rules[k];
      k -= c.rules.length;
    }
  }
  return undefined;
}

