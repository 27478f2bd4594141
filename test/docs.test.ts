import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checksMarkdown } from '../src/docs/checks-page.js';
import { diagnosticsTable } from '../src/docs/diagnostics-table.js';

const TABLE = /(<!-- diagnostics-table:start -->\n)([\s\S]*?)(\n<!-- diagnostics-table:end -->)/;
// UPDATE_DOCS=1 regenerates the table from the catalogue, like UPDATE_GOLDEN for fixtures.
if (process.env.UPDATE_DOCS === '1') writeFileSync('README.md', readFileSync('README.md', 'utf8').replace(TABLE, (_m, a: string, _b, c: string) => a + diagnosticsTable() + c));
if (process.env.UPDATE_DOCS === '1') writeFileSync('docs/checks.md', checksMarkdown());
const readme = readFileSync('README.md', 'utf8');

describe('README', () => {
  it('starts with the two set-up commands', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(firstBlock).toContain('npm install && npm start');
    expect(firstBlock).toContain('npm test');
  });
  it('has the diagnostics table generated from the catalogue', () => {
    expect(TABLE.exec(readme)![2], 'README diagnostics table is stale: run UPDATE_DOCS=1 npm test').toBe(diagnosticsTable());
  });
  it('docs/checks.md is generated from the checks, with real diagnostics for every example', () => {
    const page = checksMarkdown();
    expect(readFileSync('docs/checks.md', 'utf8'), 'docs/checks.md is stale: run UPDATE_DOCS=1 npm test').toBe(page);
    // An example that no longer triggers its own check leaves an empty output block.
    expect(page).not.toMatch(/```\n```/);
  });
  it('documents every example', () => {
    for (const f of readdirSync('examples').filter((x) => x.endsWith('.yaml'))) expect(readme).toContain(`### \`${f}\``);
  });
  it('documents every key of every rule section of the schema', () => {
    const schema = JSON.parse(readFileSync('schema/ipfence.schema.json', 'utf8')) as { properties: Record<string, unknown>; definitions: Record<string, { properties?: Record<string, unknown> }> };
    const keys = new Set([...Object.keys(schema.properties), ...Object.values(schema.definitions).flatMap((d) => Object.keys(d.properties ?? {}))]);
    for (const k of keys) expect(readme, `README does not mention \`${k}\``).toMatch(new RegExp(`[\`.]${k}[\`.]`));
  });
  it('every example declares the schema for editors', () => {
    for (const f of readdirSync('examples').filter((x) => x.endsWith('.yaml'))) {
      expect(readFileSync(`examples/${f}`, 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\.\/schema\/ipfence\.schema\.json$/m);
    }
  });
});
