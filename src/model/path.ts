/** A place in the policy as keys and indexes (['inbound', 2, 'port']): every stage keeps these, not offsets. */
export type PathSegment = string | number;
export type Path = readonly PathSegment[];

/** `inbound[2].port` reads better in a message than a JSON pointer. */
export function describe(path: Path): string {
  if (path.length === 0) return 'the policy';
  let s = '';
  for (const seg of path) s += typeof seg === 'number' ? `[${seg}]` : s === '' ? seg : `.${seg}`;
  return `'${s}'`;
}

/** A path as a key of a map or set ('inbound/2'): the one way paths are compared. */
export const pathKey = (path: Path): string => path.join('/');

/** The value at `path` in a value read from YAML (mappings and lists), or undefined. */
export function valueAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const seg of path) node = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[seg] : undefined;
  return node;
}
