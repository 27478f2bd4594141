import { posix } from 'node:path';

/**
 * Where `include: SPEC` in `from` points, as a path relative to the directory ipfence runs in,
 * or why it may not be read. A policy from a pull request must not make ipfence read a file its
 * author chose outside the repository (a key, /etc/shadow): an include is a relative YAML path
 * that stays inside the directory the command runs in. The CLI also refuses a link that leads
 * out of it (src/cli/includes.ts).
 */
export function resolveInclude(from: string, spec: string): { readonly path: string } | { readonly error: string } {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(spec)) return { error: 'an include path must not contain control characters or backslashes' };
  if (posix.isAbsolute(spec)) return { error: `'${spec}' is an absolute path; an include is relative to the file that includes it, inside the directory ipfence runs in` };
  if (!/\.ya?ml$/.test(spec)) return { error: `'${spec}' is not a .yaml or .yml file` };
  const path = posix.normalize(posix.join(posix.dirname(from), spec));
  if (path === '..' || path.startsWith('../') || posix.isAbsolute(path)) return { error: `'${spec}' leads out of the directory ipfence runs in, which includes may not leave` };
  return { path };
}
