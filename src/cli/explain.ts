import { basename } from 'node:path';
import { formatLocation, hasErrors } from '../diagnostics/diagnostic.js';
import { visible } from '../diagnostics/visible.js';
import { familyRecord } from '../model/family.js';
import type { Direction, Rule, Target } from '../model/ir.js';
import { decidingRule, explainOwners, primaryText, targetText, TRACED_CASES, type OwnerAssumption, type OwnerCase } from '../analysis/explain.js';
import { DIRECTION_WORDS } from '../analysis/intent.js';
import { followPath, modelsOf, type RulesetModel, type TraceEvent } from '../packet/path.js';
import { DIM, everything, pointOf, type Packet, copyBox } from '../packet/space.js';
import { compile } from '../pipeline.js';
import { EXIT_OK, EXIT_POLICY, EXIT_USAGE, type IO } from './io.js';
import { UsageError, type Options } from './options.js';
import { report, unreadable } from './output.js';
import { parsePacketSpec, resolveInterfaces } from './packet-spec.js';
import { readPolicy, includesOf } from './read-policy.js';

const VERB = { accept: 'accepted', drop: 'dropped', reject: 'rejected' } as const;

/**
 * `ipfence explain POLICY 'tcp 203.0.113.5:40000 -> 10.0.0.1:8445 in eth0'`: every table, chain
 * and rule the packet meets in the compiled rules, what nat does to it, and what decides it,
 * with the policy line of each rule. Text, or --format json.
 */
export async function explainCommand(path: string, spec: string, o: Options, io: IO): Promise<number> {
  if (o.format !== 'stylish' && o.format !== 'json') throw new UsageError(`explain prints text (the default) or --format json, not ${o.format}`);
  const asked = parsePacketSpec(spec);
  const src = await readPolicy(path, o, io, false);
  if (src.problem) {
    report([src.problem], o.format, false, io.stdout);
    return EXIT_USAGE;
  }
  const { includes, identity } = await includesOf(src, src.text!, undefined, o, io);
  const result = compile(src.text!, src.file, basename(src.file), { severity: o.severity, emit: false, hostDir: o.hostDir, includes, identity });
  if (!result.ir || hasErrors(result.diagnostics)) {
    report(result.diagnostics, o.format, io.colorStdout && !o.values['no-color'], io.stdout);
    return unreadable(result.diagnostics) ? EXIT_USAGE : EXIT_POLICY;
  }
  const { packet, family, direction } = resolveInterfaces(asked, result.ir);
  const model = modelsOf(result.ir).find((m) => m.family === family);
  const cases = model && explainOwners(model, direction, packet);
  if (!cases) throw new UsageError(`explain: this policy has no ${familyRecord(family).label} rules`);
  const where = (r: Rule): string => (r.origin.path.length === 0 ? 'ipfence' : formatLocation(r.origin.loc));
  const decider = (c: OwnerCase): Rule | undefined => decidingRule(c.explanation.outcome);
  const verdictOf = (c: OwnerCase): string => {
    const d = decider(c);
    return `${c.explanation.outcome.verdict} ${d ? `${d.origin.label} ${where(d)}` : ''}`;
  };
  // Where every assumption about the owners ends alike, the answer is that one (told without them).
  const agreed = cases.every((c) => verdictOf(c) === verdictOf(cases[0]!));
  // A rule per address can make thousands of cases: the first few are told in full, the rest counted.
  const shown = agreed ? [cases.filter((c) => c.explanation.events.length > 0).pop() ?? cases[cases.length - 1]!] : cases.slice(0, TRACED_CASES);
  const rest = agreed ? [] : cases.slice(TRACED_CASES);
  if (o.format === 'json') {
    const told = (c: OwnerCase) => {
      const d = decider(c);
      return {
        events: c.explanation.events.map((e) =>
          e.kind === 'rule' ? { kind: e.kind, chain: e.chain, rule: e.rule.origin.label, location: where(e.rule), target: targetText(e.rule.target), limited: e.limited }
          : e.kind === 'related' ? { kind: e.kind, helpers: e.helpers.map((r) => ({ rule: r.origin.label, location: where(r), target: targetText(r.target) })) }
          : e,
        ),
        verdict: c.explanation.outcome.verdict,
        decidedBy: d ? { rule: d.origin.label, location: where(d) } : null,
      };
    };
    const body = agreed ? told(shown[0]!) : { verdict: 'depends', cases: cases.map((c) => ({ assume: c.assume, ...(c.primary ? { primary: primaryText(family, c.primary) } : {}), ...told(c) })) };
    io.stdout(`${JSON.stringify({ family, direction, packet, ...body }, null, 2)}\n`);
    return EXIT_OK;
  }
  const lines = [`${familyRecord(family).label} ${visible(spec.trim())}: a ${packet.state === 'NEW' ? 'new connection' : `${packet.state} packet`} ${DIRECTION_WORDS[direction]}`];
  // A rule that asks the hop limit (neighbour discovery's 255, MLD's 1) decides otherwise than the
  // usual 64 this packet is asked at: said, so a refused router solicitation is not a surprise.
  if (packet.hoplimit === undefined && dependsOnHopLimit(model, direction, packet)) lines.push(`  (at hop limit 64; at another the verdict differs: add 'hoplimit N' to ask at N)`);
  const ending = (c: OwnerCase): string => {
    const d = decider(c);
    return `${VERB[c.explanation.outcome.verdict]} ${d ? `by '${visible(d.origin.label)}' (${where(d)})` : 'by the default policy'}`;
  };
  const indent = agreed ? '' : '  ';
  const iface = packet.in ? `${visible(packet.in)}'s` : "the incoming interface's";
  const question = [ownersAsked(cases), cases.some((c) => c.primary) ? `which address is ${iface} primary address (where REDIRECT sends it)` : ''].filter((x) => x !== '').join(' and ');
  const why = [cases.some((c) => c.assume.length > 0) ? `the rules name owners by ${byNames(cases) ? 'name' : 'number'}` : '', cases.some((c) => c.primary) ? 'a rule after the redirect looks at the destination' : ''].filter((x) => x !== '').join('; ');
  const assumed = (c: OwnerCase): string => [assumptionText(c.assume, cases), c.primary ? `${iface} primary address is ${primaryText(family, c.primary)}` : ''].filter((x) => x !== '').join(' and ');
  if (!agreed) lines.push(`the answer depends on ${question}, which only the host knows (${why}):`);
  for (const c of shown) {
    if (!agreed) lines.push(`if ${assumed(c)}:`);
    let head = '';
    for (const e of c.explanation.events) {
      if (e.kind === 'table') head = `${e.hook} ${e.table}`;
      else {
        lines.push(`${indent}  ${head.padEnd(20)}${eventText(e, where)}`);
        head = '';
      }
    }
    lines.push(`${indent}${ending(c)}`);
  }
  const counted = rest.length === 0 ? '' : `and ${rest.length} more case${rest.length > 1 ? 's' : ''} (--format json lists each): ${(['accept', 'reject', 'drop'] as const).map((v) => [v, rest.filter((c) => c.explanation.outcome.verdict === v).length] as const).filter(([, n]) => n > 0).map(([v, n]) => `${n} ${VERB[v]}`).join(', ')}`;
  if (counted) lines.push(counted);
  if (!agreed) lines.push(`depends on ${question}: ${shown.map((c) => `${VERB[c.explanation.outcome.verdict]} if ${assumed(c)}`).join('; ')}${counted ? `; ${counted}` : ''}`);
  io.stdout(`${lines.join('\n')}\n`);
  return EXIT_OK;
}

const OWNER_WORD = { uid: 'user', gid: 'group' } as const;


/** What the answer turns on: "which user uid 33 is", "which uid 'www-data' has". */
function ownersAsked(cases: readonly OwnerCase[]): string {
  return (['uid', 'gid'] as const)
    .map((by) => {
      const all = cases.flatMap((c) => c.assume.filter((x) => x.by === by));
      if (all.length === 0) return '';
      return isNumberAsked(all[0]!, cases) ? `which ${OWNER_WORD[by]} ${by} ${all[0]!.id} is` : `which ${by} '${visible(all[0]!.name)}' has`;
    })
    .filter((x) => x !== '')
    .join(' and ');
}

/** Whether the packet names an owner by number (and the rules by name), rather than the other way. */
const byNames = (cases: readonly OwnerCase[]): boolean => cases.some((c) => c.assume.some((a) => isNumberAsked(a, cases)));

/** Whether the packet named this owner by number (each assumption gives it a name) rather than by name. */
function isNumberAsked(a: OwnerAssumption, cases: readonly OwnerCase[]): boolean {
  return cases.every((c) => c.assume.every((x) => x.by !== a.by || x.id === a.id));
}

function assumptionText(assume: readonly OwnerAssumption[], cases: readonly OwnerCase[]): string {
  const said = (['uid', 'gid'] as const).map((by) => {
    const a = assume.find((x) => x.by === by);
    const all = cases.flatMap((c) => c.assume.filter((x) => x.by === by));
    if (all.length === 0) return '';
    const byNumber = isNumberAsked(all[0]!, cases);
    if (a !== undefined) return byNumber ? `${by} ${a.id} is '${visible(a.name)}'` : `'${visible(a.name)}' is ${by} ${a.id}`;
    return byNumber ? `${by} ${all[0]!.id} is none of ${[...new Set(all.map((x) => `'${visible(x.name)}'`))].join(', ')}` : `'${visible(all[0]!.name)}' is no ${by} the rules name (${[...new Set(all.map((x) => x.id))].join(', ')})`;
  });
  return said.filter((x) => x !== '').join(' and ');
}

function eventText(e: Exclude<TraceEvent, { kind: 'table' }>, where: (r: Rule) => string): string {
  switch (e.kind) {
    case 'rule':
      // A hook's jump carries no comment (it reads the same whether the file or apply.sh added it).
      if (e.rule.origin.label === '') return `${e.chain}: ${targetText(e.rule.target)} (ipfence's hook)`;
      return `${e.chain}: '${visible(e.rule.origin.label)}' (${where(e.rule)}) ${targetText(e.rule.target)}${e.limited ? ' if over its rate limit (taken as not)' : ''}`;
    case 'policy':
      return `${e.chain}: policy ${e.verdict.toUpperCase()}`;
    case 'not-new':
      return `${e.chain}: not the first packet of a connection, so nat does not see it`;
    case 'translated':
      return translatedText(e.target);
    case 'related':
      // ICMP errors about a connection are RELATED by the kernel's own doing; other packets only through a helper.
      if (e.helpers.length === 0) return 'RELATED: no helper of this policy announces such a connection, so only an ICMP error about a connection can be RELATED';
      return `RELATED: announced by a control connection that ${e.helpers.map((r) => `'${visible(r.origin.label)}' (${where(r)}) ${targetText(r.target)}`).join(', or ')} watches`;
  }
}

/** What a translation does to the packet, as the later tables see it. */
function translatedText(t: Target): string {
  switch (t.kind) {
    case 'redirect':
      return `now to port ${t.toPort} of this host (conntrack records the translation)`;
    case 'dnat':
      return `now to ${t.to}${t.toPort === undefined ? '' : ` port ${t.toPort}`}, routed on through this host (conntrack records the translation)`;
    case 'snat':
      return `now from ${t.to} (conntrack records the translation)`;
    case 'masquerade':
      return 'now from the address of the interface it leaves by (conntrack records the translation)';
    case 'notrack':
      return 'not tracked: no later table sees it as part of a connection';
    case 'helper':
      return `conntrack's ${t.helper} helper watches the connection and relates the connections it opens`;
    default:
      return targetText(t);
  }
}

/**
 * Whether the packet's fate differs at another hop limit (neighbour discovery is accepted only at
 * 255, MLD at 1): asked by walking it at every hop limit, so only rules on its own path count.
 */
function dependsOnHopLimit(model: RulesetModel, direction: Direction, packet: Packet): boolean {
  const at = pointOf(model.family, packet);
  if (at === undefined) return false;
  const any = copyBox(at);
  any[DIM.hoplimit] = everything(model.family)[DIM.hoplimit];
  // Against its own walk: where a redirect's primary address already makes cases, those are not the hop limit's.
  const here = new Set(followPath(model, direction, at).map((o) => o.verdict));
  return followPath(model, direction, any).some((o) => !here.has(o.verdict));
}
