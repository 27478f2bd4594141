import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import { gcc } from './gcc.js';
import { github } from './github.js';
import { json } from './json.js';
import { sarif } from './sarif.js';
import { stylish } from './stylish.js';
import { lookupTable } from '../../util/lookup.js';

export type FormatName = 'stylish' | 'gcc' | 'json' | 'github' | 'sarif';
export const FORMATS: Readonly<Record<FormatName, (ds: readonly Diagnostic[], color: boolean) => string>> = lookupTable({
  stylish: (ds, color) => stylish(ds, { color }),
  gcc: (ds) => gcc(ds),
  json: (ds) => json(ds),
  github: (ds) => github(ds),
  sarif: (ds) => sarif(ds),
});
