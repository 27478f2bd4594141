// The schema validator, compiled ahead by ajv's standalone code generation: a run compiles no
// schema (about 75 ms) and loads no ajv.
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

export const OUT = 'src/validate/schema-validator.generated.ts';
const SCHEMA = 'schema/ipfence.schema.json';

export function validatorSource() {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true, code: { source: true, esm: true } });
  const code = standaloneCode(ajv, ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8'))));
  // ajv's standalone output require()s its runtime helpers (CommonJS). Their source goes into the
  // file instead, so that Node and vitest, which differ on default-import interop, run the same
  // code and a run needs no package.
  const helpers = [];
  const inlined = code.replace(/require\("(ajv\/dist\/runtime\/[a-z0-9]+)"\)\.default/g, (_, id) => {
    const fn = requireHere(id).default;
    if (typeof fn !== 'function' || !/^function [A-Za-z0-9_]+\(/.test(fn.toString())) throw new Error(`cannot inline ${id}`);
    if (!helpers.includes(fn)) helpers.push(fn);
    return fn.name;
  });
  if (/require\(/.test(inlined)) throw new Error('the generated validator still calls require(): inline that helper too');
  const helperText = helpers.map((fn) => `${fn.toString()}\n`).join('');
  return `// @ts-nocheck\n// Generated from ${SCHEMA} by \`npm run gen\`. Do not edit.\n${helperText}${inlined}\n`;
}
