import type { Code } from '../diagnostics/codes.js';
import type { Related } from '../diagnostics/diagnostic.js';
import type { Path, PathSegment } from '../model/path.js';

/** What the small readers of a normalize run need of it: a way to report at a policy path. */
export interface Reporter {
  report(code: Code, path: Path, message: string, related?: readonly Related[]): void;
  related(path: Path, message: string): Related;
}

/** `path` with `field` appended, if there is one. */
export const under = (path: Path, field: PathSegment | undefined): Path => (field === undefined ? path : [...path, field]);
