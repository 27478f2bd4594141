import type { Direction, Expectation, IntentTest, Match, Rule } from '../model/ir.js';
import { realized } from './describe.js';
import { asNumber, named, ownerAssumptions } from './owners.js';
import { followPath, untranslated, type Outcome, type RulesetModel } from '../packet/path.js';
import { subtract } from '../values/intervals.js';
import { DIM, everything, ifaceSet, isFull, type Box, copyBox } from '../packet/space.js';

/** Connections of one family's test whose verdict is not the expected one, with what decided them. */
export interface TestFailure {
  readonly box: Box;
  /** The connections of the test it is part of (to say the failure against). */
  readonly tested: Box;
  readonly verdict: Outcome['verdict'];
  readonly rules: readonly Rule[];
  /** Where it was dropped or rejected (see Outcome). */
  readonly at?: Outcome['at'];
}

export const meets = (expect: Expectation, verdict: Outcome['verdict']): boolean =>
  expect === 'allow' ? verdict === 'accept' : expect === 'deny' ? verdict !== 'accept' : verdict === expect;

/**
 * New connections given by match lists (a test's), as the model's boxes. Without an interface
 * they come from (or go to) the network: loopback is this host talking to itself, which the
 * preamble accepts and a test names with `interface: lo`.
 */
export function connections(model: RulesetModel, direction: Direction, matches: readonly (readonly Match[])[]): Box[] {
  return matches.map((m) => fromTheNetwork(untranslated(model.boxOfMatches(m)), direction));
}

/** A box with the interfaces of its direction that it leaves open narrowed to every one but loopback. */
export function fromTheNetwork(box: Box, direction: Direction): Box {
  const out = copyBox(box);
  for (const d of IFACE_DIMS[direction]) if (isFull(out[d]!, d)) out[d] = NOT_LO;
  return out;
}

const IFACE_DIMS: Readonly<Record<Direction, readonly number[]>> = { in: [DIM.in], out: [DIM.out], forward: [DIM.in, DIM.out] };
const NOT_LO = subtract(everything('ipv4')[DIM.in], ifaceSet('lo'));

/**
 * Every part of a test's connections in this family that does not get the expected verdict. A
 * test's owner named the other way from the rules' (`user: 33`, a rule for `www-data`) is
 * evaluated under each assumption of which user it is (see owners.ts), as well as none: a test
 * passes only if it holds whichever it is, since the compiler cannot know.
 */
export function evaluateTest(model: RulesetModel, test: IntentTest): TestFailure[] {
  const matches = test.matches[model.family] ?? [];
  const out = failures(model, test, matches);
  const owner = matches[0]?.find((m) => m.kind === 'owner');
  if (owner === undefined || owner.kind !== 'owner') return out;
  for (const a of ownerAssumptions(model.ruleset, owner.by, owner.id)) {
    const assumed = model.with(named(model.ruleset, [a]));
    // A name assumed to be a number: the test's connections are that number's.
    const renamed = /^\d/.test(owner.id) ? matches : matches.map((ms) => ms.map((m) => (m.kind === 'owner' && m.by === a.by ? { ...m, id: asNumber(a) } : m)));
    out.push(...failures(assumed, test, renamed));
  }
  return out;
}

function failures(model: RulesetModel, test: IntentTest, matches: readonly (readonly Match[])[]): TestFailure[] {
  const out: TestFailure[] = [];
  for (const box of connections(model, test.direction, matches)) {
    // Connections that pass are forgotten as soon as they are decided: only failures are kept.
    for (const o of followPath(model, test.direction, box, undefined, (_, verdict) => verdict === 'translate' || !meets(test.expect, verdict))) {
      if (meets(test.expect, o.verdict)) continue;
      const real = realized(o.entry);
      if (real !== null) out.push({ box: real, tested: box, verdict: o.verdict, rules: o.rules, ...(o.at === undefined ? {} : { at: o.at }) });
    }
  }
  return out;
}

export const DIRECTION_WORDS: Readonly<Record<Direction, string>> = { in: 'to this host', out: 'from this host', forward: 'through this host' };
