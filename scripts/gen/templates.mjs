// templates/*.hbs, precompiled: a run loads only the small Handlebars runtime and compiles nothing
// (about 25 ms of a small policy's start-up). templates/*.sh are fixed text (apply.sh's body),
// embedded as they are: they have no template expressions, and no data ever goes into them.
import Handlebars from 'handlebars';
import { readdirSync, readFileSync } from 'node:fs';

export const OUT = 'src/emit/templates.generated.ts';
const DIR = 'templates';
// noEscape: the data is iptables arguments and shell words, already quoted by the emitter, not HTML.
const OPTIONS = { noEscape: true, strict: true };

export function templatesSource() {
  const names = readdirSync(DIR).filter((n) => n.endsWith('.hbs')).sort();
  const entries = names.map((name) => `  ${JSON.stringify(name)}: ${Handlebars.precompile(readFileSync(`${DIR}/${name}`, 'utf8'), OPTIONS)},`);
  const fixed = readdirSync(DIR).filter((n) => n.endsWith('.sh')).sort();
  const texts = fixed.map((name) => `  ${JSON.stringify(name)}: ${JSON.stringify(readFileSync(`${DIR}/${name}`, 'utf8'))},`);
  return `// @ts-nocheck\n// Generated from ${DIR}/*.hbs and ${DIR}/*.sh by \`npm run gen\`. Do not edit.\nexport const precompiled = {\n${entries.join('\n')}\n};\nexport const texts = {\n${texts.join('\n')}\n};\n`;
}
