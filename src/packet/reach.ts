import type { Direction, Family } from '../model/ir.js';
import { joinBoxes, plainConnection, realized } from './describe.js';
import { subtract } from './intervals.js';
import { followPath, untranslated, type RulesetModel } from './path.js';
import { DIM, everything, ifaceSet, STATES, type Box } from './space.js';

/** New connections a family's rules accept along one path, as few boxes as describe them. */
export interface Reachable {
  readonly family: Family;
  readonly direction: Direction;
  readonly boxes: readonly Box[];
  /** The connections asked about (every new one not on loopback): what the boxes are said against. */
  readonly start: Box;
}

const NEW = BigInt(STATES.indexOf('NEW'));
const IFACE_DIMS: Readonly<Record<Direction, readonly number[]>> = { in: [DIM.in], out: [DIM.out], forward: [DIM.in, DIM.out] };

/**
 * What is reachable: every new connection from (or to) the network that the rules accept, to
 * this host, from it (per user) and through it. Loopback is left out: the preamble accepts it.
 */
export function reachable(model: RulesetModel, direction: Direction): Reachable {
  const start = everything(model.family).slice();
  start[DIM.state] = [[NEW, NEW]];
  const notLo = subtract(start[DIM.in]!, ifaceSet('lo'));
  for (const d of IFACE_DIMS[direction]) start[d] = notLo;
  const accepted = followPath(model, direction, untranslated(start))
    .filter((o) => o.verdict === 'accept')
    .flatMap((o) => {
      const real = realized(o.entry);
      return real ? [{ box: plainConnection(real, model.family) }] : [];
    });
  return { family: model.family, direction, boxes: joinBoxes(accepted, () => '').map((x) => x.box), start: plainConnection(untranslated(start), model.family) };
}
