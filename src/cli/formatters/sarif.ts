import { CODES, type Code } from '../../diagnostics/codes.js';
import type { Diagnostic, Location } from '../../diagnostics/diagnostic.js';
import { VERSION } from '../../util/package-root.js';

const RULE_IDS = Object.keys(CODES) as Code[];

const physical = (l: Location) => ({
  artifactLocation: { uri: encodeURI(l.file.replace(/\\/g, '/')) },
  region: { startLine: l.line, startColumn: l.col },
});

/** SARIF 2.1.0 for GitHub code scanning: every code of the catalogue is a rule, so indexes are stable. */
export function sarif(ds: readonly Diagnostic[]): string {
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'ipfence',
            version: VERSION,
            rules: RULE_IDS.map((id) => ({
              id,
              shortDescription: { text: CODES[id].doc },
              defaultConfiguration: { level: CODES[id].severity },
            })),
          },
        },
        results: ds.map((d) => ({
          ruleId: d.code,
          ruleIndex: RULE_IDS.indexOf(d.code),
          level: d.severity,
          message: { text: d.message },
          locations: [{ physicalLocation: physical(d) }],
          ...(d.related && d.related.length > 0
            ? { relatedLocations: d.related.map((r, i) => ({ id: i, message: { text: r.message }, physicalLocation: physical(r) })) }
            : {}),
        })),
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
