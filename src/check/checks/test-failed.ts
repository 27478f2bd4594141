import { diag, formatLocation, type Diagnostic, type Related } from '../../diagnostics/diagnostic.js';
import { familyRecord } from '../../model/family.js';
import type { Direction, Family } from '../../model/ir.js';
import { decidingRule, primaryText } from '../../analysis/explain.js';
import { describeBox, descriptionText, type Description } from '../../analysis/describe.js';
import { evaluateTest, type TestFailure } from '../../analysis/intent.js';
import { modelsOf, WalkTooLarge } from '../../packet/path.js';
import { DIM, isFull } from '../../packet/space.js';
import { policyLoc, type Check } from './api.js';

const VERB: Record<TestFailure['verdict'], string> = { accept: 'accepted', drop: 'dropped', reject: 'rejected' };
/** The chain policy a connection meets when no rule decides it. */
const POLICY_KEY: Readonly<Record<Direction, string>> = { in: 'input', out: 'output', forward: 'forward' };
const HOOK_POLICY = { INPUT: 'input', OUTPUT: 'output', FORWARD: 'forward' } as const;
/** Enough failing parts to see the pattern; the rest are counted. */
const SHOWN = 3;

/**
 * An intent test: its connections followed along their path on the packet model, in every family
 * they exist in. It fails, at the test, when any of them gets another verdict; the message says
 * which connections, and the rule (or default policy) that decided them.
 */
export const testFailed: Check = {
  code: 'test-failed',
  kind: 'lint',
  docs: 'An intent test (`tests:`) failed: some of the connections it describes get another verdict than `expect` on the packet model (every table and chain they pass, nat included). The message names those connections and the rule or default policy that decided them, with its location. Change the policy, or the test if the intent changed.',
  example: 'version: 1\ndefaults: { input: drop }\naddresses:\n  admins: [192.0.2.10, 2001:db8::/64]\ninbound:\n  - { name: ssh, port: 22, from: 192.0.2.10 }\ntests:\n  - { name: admins reach ssh, from: admins, port: 22, expect: allow }\n',
  check: (input) => {
    const { ir } = input;
    const out: Diagnostic[] = [];
    for (const test of ir.tests) {
      let failures: { f: TestFailure; family: Family }[];
      try {
        failures = modelsOf(ir).flatMap((model) => evaluateTest(model, test).map((f) => ({ f, family: model.family })));
      } catch (e) {
        if (!(e instanceof WalkTooLarge)) throw e;
        out.push(diag('test-failed', test.origin.loc, `test '${test.origin.label}' cannot be decided exactly: ${e.message}; narrow it (a port, a source, an interface)`, undefined, test.origin.path));
        continue;
      }
      if (failures.length === 0) continue;
      const related: Related[] = [];
      const seen = new Set<string>();
      const parts = failures.slice(0, SHOWN).map(({ f, family }) => {
        const decided = decidingRule(f);
        // The policy of the hook that refused it: a connection on lo meets OUTPUT's, then INPUT's.
        const policyKey = f.at !== undefined && f.at in HOOK_POLICY ? HOOK_POLICY[f.at as keyof typeof HOOK_POLICY] : POLICY_KEY[test.direction];
        const by = decided ? `'${decided.origin.label}' (${formatLocation(decided.origin.loc)})` : `the default policy (\`defaults.${policyKey}\`)`;
        const loc = decided ? decided.origin.loc : policyLoc(input, ['defaults', policyKey]);
        const key = `${loc.file}:${loc.line}:${loc.col}`;
        if (!seen.has(key)) {
          seen.add(key);
          related.push({ ...loc, message: decided ? `decided by '${decided.origin.label}'` : 'decided by the default policy' });
        }
        // Redirected, where their fate turns on the address the redirect sends them to.
        const primary = isFull(f.box[DIM.primary], DIM.primary) ? '' : ` if the primary address of the interface they come in by (where a redirect sends them) is ${primaryText(family, f.box[DIM.primary])}`;
        return `${partText(familyRecord(family).label, describeBox(family, f.box, f.tested))} are ${VERB[f.verdict]} by ${by}${primary}`;
      });
      const more = failures.length > SHOWN ? `; and ${failures.length - SHOWN} more part${failures.length - SHOWN > 1 ? 's' : ''}` : '';
      out.push(diag('test-failed', test.origin.loc, `test '${test.origin.label}' expects ${test.expect}, but ${parts.join('; ')}${more}`, related, test.origin.path));
    }
    return out;
  },
};

/** A failing part as said against its test: what narrows it, or nothing when it is all of it. */
function partText(family: string, d: Description): string {
  const text = descriptionText({ ...d, proto: d.proto ?? '' }).trim();
  return text === '' ? `its ${family} connections` : `${family} connections ${text}`;
}

