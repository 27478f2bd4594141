import { CODES, type Code, type Severity } from './codes.js';

/** A place in a policy file; line and col are 1-based, col counts UTF-16 units like editors do. */
export interface Location {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export interface Related extends Location {
  readonly message: string;
}

export interface Diagnostic extends Location {
  readonly code: Code;
  readonly severity: Severity;
  readonly message: string;
  readonly related?: readonly Related[];
  /** The policy construct it is about (e.g. ['inbound', 2]), when known: what `suppress` matches. */
  readonly path?: readonly (string | number)[];
}

export function diag(code: Code, at: Location, message: string, related?: readonly Related[], path?: readonly (string | number)[]): Diagnostic {
  const base: Diagnostic = { code, severity: CODES[code].severity as Severity, message, file: at.file, line: at.line, col: at.col };
  const withRelated = related && related.length > 0 ? { ...base, related } : base;
  return path ? { ...withRelated, path } : withRelated;
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
}

export function formatLocation(l: Location): string {
  return `${l.file}:${l.line}:${l.col}`;
}
