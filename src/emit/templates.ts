import handlebarsRuntime from 'handlebars/runtime.js';
import { precompiled } from './templates.generated.js';

/**
 * Enough to run precompiled templates. Bundled (scripts/bundle.mjs), not required at run time:
 * resolving and loading its 21 CommonJS files took about 7 ms of a small policy's 120 ms start-up.
 * Its declaration file declares nothing; its value is the full library without the compiler.
 */
const runtime = handlebarsRuntime as unknown as typeof import('handlebars');

type Template = (ctx: object) => string;
const cache = new Map<string, Template>();

/** A template of templates/, precompiled by `npm run gen` (only the small Handlebars runtime runs). */
export function template(name: string): Template {
  let t = cache.get(name);
  if (!t) {
    const spec = (precompiled as Record<string, unknown>)[name];
    if (spec === undefined) throw new Error(`no precompiled template ${name}: run npm run gen`);
    t = runtime.template(spec as Parameters<typeof import('handlebars').template>[0]) as Template;
    cache.set(name, t);
  }
  return t;
}

