import { basename } from 'node:path';
import { formatLocation, hasErrors } from '../diagnostics/diagnostic.js';
import { visible } from '../diagnostics/visible.js';
import { familyRecord } from '../model/family.js';
import type { Rule, Target } from '../model/ir.js';
import { decidingRule, explainPacket, targetText } from '../packet/explain.js';
import { DIRECTION_WORDS } from '../packet/intent.js';
import { modelsOf, type TraceEvent } from '../packet/path.js';
import { compile } from '../pipeline.js';
import { EXIT_OK, EXIT_POLICY, EXIT_USAGE, type IO } from './io.js';
import { UsageError, type Options } from './options.js';
import { report } from './output.js';
import { parsePacketSpec } from './packet-spec.js';
import { readPolicy, includesOf } from './source.js';

const VERB = { accept: 'accepted', drop: 'dropped', reject: 'rejected' } as const;

/**
 * `ipfence explain POLICY 'tcp 203.0.113.5:40000 -> 10.0.0.1:8445 in eth0'`: every table, chain
 * and rule the packet meets in the compiled rules, what nat does to it, and what decides it,
 * with the policy line of each rule. Text, or --format json.
 */
export async function explainCommand(path: string, spec: string, o: Options, io: IO): Promise<number> {
  if (o.format !== 'stylish' && o.format !== 'json') throw new UsageError(`explain prints text (the default) or --format json, not ${o.format}`);
  const { packet, family, direction } = parsePacketSpec(spec);
  const src = await readPolicy(path, o, io, false);
  if (src.problem) {
    report([src.problem], o.format, false, io.stdout);
    return EXIT_USAGE;
  }
  const { includes } = await includesOf(src.file, src.text!, undefined, o, io);
  const result = compile(src.text!, src.file, basename(src.file), { severity: o.severity, emit: false, hostDir: o.hostDir, includes });
  if (!result.ir || hasErrors(result.diagnostics)) {
    report(result.diagnostics, o.format, io.colorStdout && !o.values['no-color'], io.stdout);
    return EXIT_POLICY;
  }
  const model = modelsOf(result.ir).find((m) => m.family === family);
  const found = model && explainPacket(model, direction, packet);
  if (!found) throw new UsageError(`explain: this policy has no ${familyRecord(family).label} rules`);
  const decided = decidingRule(found.outcome.rules);
  const where = (r: Rule): string => (r.origin.path.length === 0 ? 'ipfence' : formatLocation(r.origin.loc));
  if (o.format === 'json') {
    const events = found.events.map((e) =>
      e.kind === 'rule' ? { kind: e.kind, chain: e.chain, rule: e.rule.origin.label, location: where(e.rule), target: targetText(e.rule.target), limited: e.limited }
      : e.kind === 'related' ? { kind: e.kind, helpers: e.helpers.map((r) => ({ rule: r.origin.label, location: where(r), target: targetText(r.target) })) }
      : e,
    );
    io.stdout(`${JSON.stringify({ family, direction, packet, events, verdict: found.outcome.verdict, decidedBy: decided ? { rule: decided.origin.label, location: where(decided) } : null }, null, 2)}\n`);
    return EXIT_OK;
  }
  const lines = [`${familyRecord(family).label} ${visible(spec.trim())}: a ${packet.state === 'NEW' ? 'new connection' : `${packet.state} packet`} ${DIRECTION_WORDS[direction]}`];
  let head = '';
  const line = (text: string): void => {
    lines.push(`  ${head.padEnd(20)}${text}`);
    head = '';
  };
  for (const e of found.events) {
    if (e.kind === 'table') head = `${e.hook} ${e.table}`;
    else line(eventText(e, where));
  }
  lines.push(`${VERB[found.outcome.verdict]} ${decided ? `by '${visible(decided.origin.label)}' (${where(decided)})` : 'by the default policy'}`);
  io.stdout(`${lines.join('\n')}\n`);
  return EXIT_OK;
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
