import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checksMarkdown } from '../src/docs/checks-page.js';

const readme = readFileSync('README.md', 'utf8');
const pages = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const slug = (heading: string) => heading.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
const anchorsOf = (file: string) => new Set([...readFileSync(file, 'utf8').matchAll(/^#+ (.*)$/gm)].map((m) => slug(m[1]!)));

describe('README', () => {
  it('is the user\'s page: about 400 lines at most', () => {
    expect(readme.trimEnd().split('\n').length).toBeLessThanOrEqual(400);
  });
  it('starts with the two set-up commands', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(firstBlock).toContain('npm install && npm start');
    expect(firstBlock).toContain('npm test');
  });
  it('docs/checks.md shows a real diagnostic for every example', () => {
    // An example that no longer triggers its own check leaves an empty output block.
    expect(checksMarkdown()).not.toMatch(/```\n```/);
  });
  it('lists every example, and docs/examples.md shows each', () => {
    const page = readFileSync('docs/examples.md', 'utf8');
    for (const f of readdirSync('examples').filter((x) => x.endsWith('.yaml'))) {
      expect(readme).toContain(`[\`${f}\`](examples/${f})`);
      expect(page).toContain(`## \`${f}\``);
    }
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

describe('docs', () => {
  it('every relative link of README.md and docs/ leads to a file, and an anchor to a heading there', () => {
    const broken: string[] = [];
    for (const page of pages) {
      const text = readFileSync(page, 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [path, anchor] = target!.split('#') as [string, string | undefined];
        const file = path === '' ? page : join(dirname(page), path);
        if (!existsSync(file)) broken.push(`${page}: ${target} (no such file)`);
        else if (anchor !== undefined && !(statSync(file).isFile() && anchorsOf(file).has(anchor))) broken.push(`${page}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
  it('docs/architecture.md names the folder of every part of src/', () => {
    const page = readFileSync('docs/architecture.md', 'utf8');
    for (const dir of readdirSync('src').filter((d) => statSync(`src/${d}`).isDirectory())) expect(page, `src/${dir}`).toContain(`\`src/${dir}\``);
  });
});
