import { diag, type Diagnostic } from '../diagnostics/diagnostic.js';
import { BACKEND, type Artifact } from '../emit/emit.js';
import { familyRecord } from '../model/family.js';
import { withNetns, type XtablesVariant, type Netns } from './netns.js';

/**
 * Loads compiled files for real into a throwaway namespace per back end and maps any refusal back
 * to the policy rule that produced the refused line. Parse errors name their line; kernel errors
 * on the legacy back end name only the COMMIT, so then the table is bisected rule by rule.
 */
export async function verifyArtifacts(artifacts: readonly Artifact[], backends: readonly XtablesVariant[], policyFile: string): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  const sets = artifacts.find((x) => x.file === 'ipsets');
  for (const backend of backends) {
    for (const a of artifacts.filter((x) => x.family !== undefined)) {
      const found = await withNetns((ns) => {
        if (sets) {
          const loaded = ns.loadSets(sets.content);
          if (loaded.status !== 0) return [diag('kernel-rejected', { file: policyFile, line: 1, col: 1 }, `ipset restore refused the ipsets file: ${loaded.stderr.trim()}`)];
        }
        return verifyOne(ns, backend, a, policyFile);
      });
      out.push(...found);
    }
  }
  return out;
}

async function verifyOne(ns: Netns, backend: XtablesVariant, a: Artifact, policyFile: string): Promise<Diagnostic[]> {
  const rec = familyRecord(a.family!);
  const r = ns.restore(backend, a.family!, a.content);
  if (r.status === 0) return [];
  const lines = a.content.split('\n');
  const reason = kernelReason(r.stderr);
  const lineNo = Number(/line:? (\d+)/.exec(r.stderr)?.[1] ?? 0);
  let ruleIndex = ruleIndexAt(lines, lineNo);
  if (ruleIndex === undefined) ruleIndex = bisect(ns, backend, a, lines, lineNo);
  const origin = ruleIndex !== undefined && a.ruleset ? BACKEND.ruleAt(a.ruleset, ruleIndex)?.origin : undefined;
  const what = `${rec.restoreCommand} (${backend} back end) refused ${a.file}${ruleIndex !== undefined ? ` at the rule '${origin?.label ?? '?'}'` : ''}: ${reason}`;
  return [diag('kernel-rejected', origin?.loc ?? { file: policyFile, line: 1, col: 1 }, what)];
}

function kernelReason(stderr: string): string {
  const first = stderr.split('\n').find((l) => l.trim() && !/^Error occurred at line|^Try `/.test(l)) ?? stderr.trim();
  return first.replace(/^[\w-]+ v[\d.]+ \([\w_]+\): /, '').trim();
}

/** The index among `-A` lines of the 1-based line `lineNo`, if that line is a rule. */
function ruleIndexAt(lines: readonly string[], lineNo: number): number | undefined {
  if (lineNo < 1 || !lines[lineNo - 1]?.startsWith('-A ')) return undefined;
  return lines.slice(0, lineNo - 1).filter((l) => l.startsWith('-A ')).length;
}

/** Smallest k such that the failing table with only its first k rules is refused. */
function bisect(ns: Netns, backend: XtablesVariant, a: Artifact, lines: readonly string[], commitLine: number): number | undefined {
  const end = commitLine >= 1 && lines[commitLine - 1] === 'COMMIT' ? commitLine - 1 : lines.findIndex((l) => l === 'COMMIT');
  if (end < 0) return undefined;
  let start = end - 1;
  while (start > 0 && !lines[start]!.startsWith('*')) start--;
  const head = lines.slice(start, end).filter((l) => !l.startsWith('-A '));
  const rules = lines.slice(start, end).filter((l) => l.startsWith('-A '));
  const before = lines.slice(0, start).filter((l) => l.startsWith('-A ')).length;
  const fails = (k: number): boolean => ns.restore(backend, a.family!, [...head, ...rules.slice(0, k), 'COMMIT', ''].join('\n')).status !== 0;
  if (!fails(rules.length)) return undefined;
  let lo = 1;
  let hi = rules.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fails(mid)) hi = mid;
    else lo = mid + 1;
  }
  return before + lo - 1;
}
