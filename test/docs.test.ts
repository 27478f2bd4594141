import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checksMarkdown } from '../src/docs/checks-page.js';
const readme = readFileSync('README.md', 'utf8');

describe('README', () => {
  it('starts with the two set-up commands', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(firstBlock).toContain('npm install && npm start');
    expect(firstBlock).toContain('npm test');
  });
  it('docs/checks.md shows a real diagnostic for every example', () => {
    // An example that no longer triggers its own check leaves an empty output block.
    expect(checksMarkdown()).not.toMatch(/```\n```/);
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
