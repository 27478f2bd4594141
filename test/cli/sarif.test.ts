import { Ajv2020 } from 'ajv/dist/2020.js';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sarif } from '../../src/cli/formatters/sarif.js';
import { compile } from '../../src/pipeline.js';

const schema = JSON.parse(readFileSync('test/vendor/sarif-2.1.0.json', 'utf8')) as object;
const validateSarif = new Ajv2020({ allErrors: true, strict: false, validateFormats: false }).compile(schema);

describe('--format sarif', () => {
  it('is valid SARIF 2.1.0 with results, related locations and rule indexes', () => {
    const { diagnostics } = compile(readFileSync('test/fixtures/_errors_/order-conflict/policy.yaml', 'utf8'), 'policies/my host.yaml');
    const log = JSON.parse(sarif(diagnostics)) as { runs: { results: { ruleId: string; ruleIndex: number; locations: unknown[]; relatedLocations?: unknown[] }[]; tool: { driver: { rules: { id: string }[] } } }[] };
    expect(validateSarif(log), JSON.stringify(validateSarif.errors, null, 2)).toBe(true);
    const run = log.runs[0]!;
    expect(run.results).toHaveLength(1);
    const r = run.results[0]!;
    expect(run.tool.driver.rules[r.ruleIndex]!.id).toBe('order-conflict');
    expect(r.locations).toEqual([{ physicalLocation: { artifactLocation: { uri: 'policies/my%20host.yaml' }, region: { startLine: 8, startColumn: 5 } } }]);
    expect(r.relatedLocations).toHaveLength(1);
  });
  it('is valid with no findings', () => {
    expect(validateSarif(JSON.parse(sarif([])))).toBe(true);
  });
  it('the validator really checks: a broken log is refused', () => {
    expect(validateSarif({ version: '2.1.0', runs: [{ tool: { driver: {} } }] })).toBe(false);
  });
});
