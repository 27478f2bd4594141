import type { Fate } from '../model/ir.js';
import { formatLocation } from '../diagnostics/diagnostic.js';
import type { Path } from '../model/path.js';
import type { OrderSweep, SweepEntry } from '../analysis/order-sweep.js';
import type { Context } from './context.js';

/** A compiled section entry, for the order check. */
export interface SectionEntry extends SweepEntry {
  readonly path: Path;
  readonly label: string;
  readonly verdict: Fate;
}

/**
 * allow-first moves every allow ahead of every deny. That is only the author's meaning when no
 * allow written after a deny overlaps it; otherwise the deny would silently stop applying to the
 * overlap, so we refuse and name both rules.
 */
export function checkOrder(ctx: Context, section: string, sweep: OrderSweep<SectionEntry>): void {
  for (const { allowEntry: allow, denyEntry: deny, families } of sweep.conflicts) {
    const denyLoc = ctx.loc(deny.path);
    ctx.report(
      'order-conflict',
      allow.path,
      `allow '${allow.label}' overlaps the earlier ${deny.verdict} '${deny.label}' (${formatLocation(denyLoc)}) in ${families.join(' and ')}; ` +
        `${section} puts allows first, which would let this allow override that ${deny.verdict}. ` +
        `Exclude the denied traffic with \`except:\` on this rule, or set \`defaults.order: as-written\``,
      [ctx.related(deny.path, `the ${deny.verdict} '${deny.label}' written first`)],
    );
  }
}
