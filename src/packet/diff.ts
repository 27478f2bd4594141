import { FAMILY_NAMES } from '../model/family.js';
import type { Direction, Family, IR, Rule } from '../model/ir.js';
import { lazy } from '../util/lazy.js';
import { joinBoxes, plainConnection, realized } from './describe.js';
import { followPath, modelsOf, untranslated, type Outcome, type RulesetModel } from './path.js';
import { DIM, everything, intersectBox, STATES, subtractBox, type Box } from './space.js';

/** Packets whose fate differs between two compiled policies. */
export interface Change {
  readonly family: Family;
  readonly direction: Direction;
  readonly box: Box;
  readonly before: Outcome['verdict'];
  readonly after: Outcome['verdict'];
  /** The rule that now decides them (in the new policy), or, where its default policy does, the one that did. */
  readonly rule: Rule | undefined;
  readonly side: 'new' | 'old' | undefined;
}

const DIRECTIONS: readonly Direction[] = ['in', 'out', 'forward'];

/**
 * Every packet whose verdict differs between `before` and `after`, exactly: only packets that
 * meet a rule that was added, removed or moved (a chain's rules compared as sequences), or whose
 * chain changed its policy, can change fate, so only those are followed along each path in both
 * rule sets. Packets a redirect moves onto a changed rule are followed from before the redirect.
 */
export function changedPackets(before: IR, after: IR): Change[] {
  const out: Change[] = [];
  for (const family of FAMILY_NAMES) {
    const a = modelsOf(before).find((m) => m.family === family);
    const b = modelsOf(after).find((m) => m.family === family);
    if (a === undefined && b === undefined) continue;
    const touched = touchedBoxes(family, [before, a], [after, b]);
    for (const direction of DIRECTIONS) {
      const found: Change[] = [];
      for (const start of entryParts(touched)) {
        const was = a ? followPath(a, direction, start) : [{ box: start, entry: start, verdict: 'accept' as const, rules: [] }];
        const now = b ? followPath(b, direction, start) : [{ box: start, entry: start, verdict: 'accept' as const, rules: [] }];
        for (const o of was) {
          for (const n of now) {
            if (o.verdict === n.verdict) continue;
            const both = intersectBox(o.entry, n.entry);
            const real = both && realized(both);
            if (!real) continue;
            const rule = lastDecider(n.rules) ?? lastDecider(o.rules);
            found.push({ family, direction, box: real, before: o.verdict, after: n.verdict, rule, side: rule === undefined ? undefined : lastDecider(n.rules) ? 'new' : 'old' });
          }
        }
      }
      out.push(...merged(found, family));
    }
  }
  return out;
}

const lastDecider = (rules: readonly Rule[]): Rule | undefined => {
  const r = rules[rules.length - 1];
  return r && r.target.kind !== 'redirect' ? r : undefined;
};

/** What a rule does to packets, whatever it is called: its matches, target and the sets it reads. */
function ruleKey(r: Rule, sets: ReadonlyMap<string, string>): string {
  const used = r.matches.filter((m) => m.kind === 'set').map((m) => sets.get(m.name) ?? '');
  return JSON.stringify([r.matches, r.target, used]);
}

/**
 * The boxes of the rules that differ between two rule sets of one family, disjoint; the whole
 * family where a chain's policy changed. Superset enough: a packet none of them meets passes the
 * same rules in the same order in both.
 */
function touchedBoxes(family: Family, [irA, a]: [IR, RulesetModel | undefined], [irB, b]: [IR, RulesetModel | undefined]): Box[] {
  const boxes: Box[] = [];
  const chainsOf = (m: RulesetModel | undefined) => new Map((m?.ruleset.tables ?? []).flatMap((t) => t.chains.map((c) => [`${t.name} ${c.name}`, c] as const)));
  const setsOf = (ir: IR) => new Map(ir.sets.filter((s) => s.family === family).map((s) => [s.name, s.entries.join(',')]));
  const ca = chainsOf(a);
  const cb = chainsOf(b);
  const sa = setsOf(irA);
  const sb = setsOf(irB);
  let translatedChange = false;
  const add = (m: RulesetModel, r: Rule): void => {
    const box = m.box(r).box;
    boxes.push(box);
    if (box[DIM.dnat]!.some(([, hi]) => hi === 1n)) translatedChange = true;
  };
  for (const key of new Set([...ca.keys(), ...cb.keys()])) {
    const x = ca.get(key);
    const y = cb.get(key);
    if ((x?.policy ?? 'ACCEPT') !== (y?.policy ?? 'ACCEPT')) return [everything(family)];
    const keysA = (x?.rules ?? []).map((r) => ruleKey(r, sa));
    const keysB = (y?.rules ?? []).map((r) => ruleKey(r, sb));
    let i = 0;
    let j = 0;
    for (const part of lazy.diff().diffArrays(keysA, keysB)) {
      const n = part.count ?? part.value.length;
      if (part.removed) for (let k = 0; k < n; k++) add(a!, x!.rules[i + k]!);
      if (part.added) for (let k = 0; k < n; k++) add(b!, y!.rules[j + k]!);
      if (!part.added) i += n;
      if (!part.removed) j += n;
    }
  }
  // A changed rule for redirected connections: they are decided from before their redirect.
  if (translatedChange) {
    for (const m of [a, b]) for (const t of m?.ruleset.tables ?? []) for (const c of t.chains) for (const r of c.rules) if (r.target.kind === 'redirect') boxes.push(m!.box(r).box);
  }
  return disjoint(boxes);
}

function disjoint(boxes: readonly Box[]): Box[] {
  const out: Box[] = [];
  for (const box of boxes) {
    let parts = [box];
    for (const prev of out) parts = parts.flatMap((p) => subtractBox(p, prev));
    out.push(...parts);
  }
  return out;
}

const NEW = BigInt(STATES.indexOf('NEW'));

/**
 * The packets of the touched boxes as they enter a path: a new connection is not yet translated
 * (its original destination is its own); any other packet may belong to a translated one.
 */
function entryParts(boxes: readonly Box[]): Box[] {
  const out: Box[] = [];
  for (const box of boxes) {
    const fresh = box.slice();
    fresh[DIM.state] = [[NEW, NEW]];
    const f = intersectBox(box, fresh);
    if (f) out.push(untranslated(f));
    const rest = box.slice();
    rest[DIM.state] = [[NEW, NEW]];
    out.push(...subtractBox(box, rest));
  }
  return out;
}

/** Changes of one family and path as connections, joined where they differ in one dimension. */
const merged = (changes: readonly Change[], family: Family): Change[] =>
  joinBoxes(changes.map((c) => ({ ...c, box: plainConnection(c.box, family) })), (c) => `${c.before} ${c.after}`);
