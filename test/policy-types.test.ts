import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { SUPPRESSIBLE } from '../src/diagnostics/codes.js';
import { compile } from '../src/pipeline.js';

/**
 * src/model/policy.ts is the policy's type as the schema admits it, written by hand for readable
 * names; this holds it to schema/ipfence.schema.json, the one source. From the root, through every
 * section, rule, nested mapping and list of mappings, each mapping has the schema's keys (no more,
 * no fewer), each required key is required and each other optional, and each closed list of
 * strings (an enum) has the schema's values.
 */
type Schema = { $ref?: string; const?: unknown; type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; items?: Schema; enum?: unknown[]; oneOf?: Schema[]; anyOf?: Schema[] };

const schema = JSON.parse(readFileSync('schema/ipfence.schema.json', 'utf8')) as Schema & { definitions: Record<string, Schema> };
const resolve = (s: Schema): Schema => (s.$ref ? resolve(schema.definitions[s.$ref.replace('#/definitions/', '')]!) : s);
/** The schema and its alternatives (oneOf, anyOf), each resolved. */
const alternatives = (s: Schema): Schema[] => [resolve(s), ...[...(s.oneOf ?? []), ...(s.anyOf ?? []), ...(resolve(s).oneOf ?? []), ...(resolve(s).anyOf ?? [])].map(resolve)];

function differences(): string[] {
  const program = ts.createProgram(['src/model/policy.ts'], { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext });
  const checker = program.getTypeChecker();
  const file = program.getSourceFile('src/model/policy.ts')!;
  const policy = checker.getExportsOfModule(checker.getSymbolAtLocation(file)!).find((s) => s.name === 'Policy')!;
  const out: string[] = [];
  const members = (t: ts.Type): ts.Type[] => (t.isUnion() ? t.types : [t]).filter((m) => !(m.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
  const objectOf = (t: ts.Type): ts.Type | undefined => members(t).find((m) => m.flags & ts.TypeFlags.Object && !checker.isArrayLikeType(m));
  const elementOf = (t: ts.Type): ts.Type | undefined => {
    const arr = members(t).find((m) => checker.isArrayLikeType(m));
    return arr && checker.getIndexTypeOfType(arr, ts.IndexKind.Number);
  };
  /** The primitive kinds a schema admits and a type holds: string, number, boolean. */
  const schemaKinds = (s: Schema): Set<string> => {
    const out = new Set<string>();
    for (const alt of alternatives(s)) {
      for (const t of [alt.type ?? []].flat()) if (t === 'string' || t === 'boolean') out.add(t);
      else if (t === 'integer' || t === 'number') out.add('number');
      for (const v of [...(alt.enum ?? []), ...('const' in alt ? [alt.const] : [])]) out.add(typeof v);
    }
    return out;
  };
  const typeKinds = (t: ts.Type): Set<string> => {
    const out = new Set<string>();
    for (const m of members(t)) {
      if (m.flags & (ts.TypeFlags.String | ts.TypeFlags.StringLiteral)) out.add('string');
      else if (m.flags & (ts.TypeFlags.Number | ts.TypeFlags.NumberLiteral)) out.add('number');
      else if (m.flags & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) out.add('boolean');
    }
    return out;
  };
  const compare = (s: Schema, t: ts.Type, where: string, depth: number): void => {
    if (depth > 8) return;
    const admitted = schemaKinds(s);
    const held = typeKinds(t);
    if (JSON.stringify([...admitted].sort()) !== JSON.stringify([...held].sort())) out.push(`${where}: the schema admits ${JSON.stringify([...admitted].sort())}, the type holds ${JSON.stringify([...held].sort())}`);
    if (alternatives(s).some((alt) => alt.enum?.every((v) => typeof v === 'string')) && members(t).some((m) => m.flags & ts.TypeFlags.String)) out.push(`${where}: the schema lists its values, the type takes any string`);
    for (const alt of alternatives(s)) {
      if (alt.properties) {
        const obj = objectOf(t);
        if (!obj) {
          out.push(`${where}: the schema has a mapping, the type none`);
          continue;
        }
        const props = new Map(checker.getPropertiesOfType(obj).map((p) => [p.name, p]));
        for (const key of Object.keys(alt.properties)) if (!props.has(key)) out.push(`${where}.${key}: in the schema, not in the type`);
        for (const [key, p] of props) {
          const sub = alt.properties[key];
          if (!sub) {
            out.push(`${where}.${key}: in the type, not in the schema`);
            continue;
          }
          const optional = (p.flags & ts.SymbolFlags.Optional) !== 0;
          const required = alt.required?.includes(key) ?? false;
          if (optional === required) out.push(`${where}.${key}: ${required ? 'required' : 'optional'} in the schema, not in the type`);
          compare(sub, checker.getTypeOfSymbol(p), `${where}.${key}`, depth + 1);
        }
      }
      if (alt.items) {
        const element = elementOf(t);
        if (element) compare(alt.items, element, `${where}[]`, depth + 1);
        else out.push(`${where}: the schema has a list, the type none`);
      }
      if (alt.enum?.every((v) => typeof v === 'string')) {
        const literals = members(t).filter((m) => m.isStringLiteral());
        const named = literals.map((m) => (m as ts.StringLiteralType).value).sort();
        if (named.length > 0 && JSON.stringify(named) !== JSON.stringify([...(alt.enum as string[])].sort())) out.push(`${where}: the schema's values are ${JSON.stringify([...alt.enum].sort())}, the type's ${JSON.stringify(named)}`);
      }
    }
  };
  compare(schema, checker.getDeclaredTypeOfSymbol(policy), 'policy', 0);
  return out;
}

describe('the policy type', () => {
  it("is the schema's, key for key, through every section", () => {
    expect(differences()).toEqual([]);
  });
});

// What the docs call re-gradable is what the schema lets `checks:` and `suppress:` name: the two
// lists once missed port-usually-udp, forward-any-address and analysis-limit (no-context review).
describe("the schema's lists of re-gradable checks", () => {
  it('are exactly the findings ipfence lets a policy re-grade or silence', () => {
    const checks = (schema as unknown as { properties: { checks: { propertyNames: { enum: string[] } } } }).properties.checks.propertyNames.enum;
    const suppress = (schema.definitions.suppress as unknown as { propertyNames: { enum: string[] } }).propertyNames.enum;
    expect([...checks].sort()).toEqual([...SUPPRESSIBLE].sort());
    expect([...suppress].sort()).toEqual([...SUPPRESSIBLE].sort());
  });
  it('let a policy turn one off and silence one at a rule', () => {
    const r = compile('version: 1\nchecks: { port-usually-udp: off }\ninbound:\n  - { port: 53 }\noutbound:\n  - { port: 123, suppress: { port-usually-udp: "NTP over TCP here" } }\n', 'p.yaml');
    expect(r.diagnostics).toEqual([]);
  });
});
