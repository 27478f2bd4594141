import { formatLocation } from '../diagnostics/diagnostic.js';
import type { Context } from './context.js';
import type { SectionEntry } from './filter-sections.js';
import { overlapFamilies } from './selector.js';

/**
 * allow-first moves every allow ahead of every deny. That is only the author's meaning when no
 * allow written after a deny overlaps it; otherwise the deny would silently stop applying to the
 * overlap, so we refuse and name both rules.
 */
export function checkOrder(ctx: Context, section: string, entries: readonly SectionEntry[]): void {
  entries.forEach((allow, j) => {
    if (allow.verdict !== 'accept') return;
    for (const deny of entries.slice(0, j)) {
      if (deny.verdict === 'accept') continue;
      const fams = overlapFamilies(deny.sel, allow.sel);
      if (fams.length === 0) continue;
      const denyLoc = ctx.loc(deny.path);
      ctx.report(
        'order-conflict',
        allow.path,
        `allow '${allow.label}' overlaps the earlier ${deny.verdict} '${deny.label}' (${formatLocation(denyLoc)}) in ${fams.join(' and ')}; ` +
          `${section} puts allows first, which would let this allow override that ${deny.verdict}. ` +
          `Exclude the denied traffic with \`except:\` on this rule, or set \`defaults.order: as-written\``,
        [ctx.related(deny.path, `the ${deny.verdict} '${deny.label}' written first`)],
      );
      return;
    }
  });
}
