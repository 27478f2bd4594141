import { compareDiagnostics } from '../diagnostics/diagnostic.js';
import { kernelLab } from '../verify/netns.js';
import { verifyArtifacts } from '../verify/verify.js';
import { EXIT_OK, EXIT_POLICY, EXIT_USAGE, type IO } from './io.js';
import type { Options } from './options.js';
import { failed, report } from './output.js';
import { readAndCompile } from './source.js';

export async function verifyCommand(path: string, o: Options, io: IO): Promise<number> {
  const { values, format } = o;
  const lab = (io.kernelLab ?? kernelLab)();
  if (!lab.ok) {
    io.stderr(`ipfence: verify cannot run here: ${lab.why}. It loads the rules into a throwaway network namespace; run it as root (sudo) on a machine with iptables and iproute2.\n`);
    return EXIT_USAGE;
  }
  const color = io.colorStdout && !values['no-color'];
  const compiled = await readAndCompile(path, o, io, io.stdout, color);
  if (!compiled.ok) return compiled.exit;
  const { result } = compiled;
  if (!result.artifacts) {
    report(result.diagnostics, format, color, io.stdout);
    return EXIT_POLICY;
  }
  const refused = await verifyArtifacts(result.artifacts, lab.backends, compiled.file);
  const all = [...result.diagnostics, ...refused].sort(compareDiagnostics);
  report(all, format, color, io.stdout);
  if (refused.length === 0) io.stderr(`ipfence: the kernel accepted rules.v4 and rules.v6 on the ${lab.backends.join(' and ')} back end${lab.backends.length > 1 ? 's' : ''}\n`);
  return failed(all, o) ? EXIT_POLICY : EXIT_OK;
}
