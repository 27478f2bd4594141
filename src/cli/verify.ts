import { compareDiagnostics, type Diagnostic } from '../diagnostics/diagnostic.js';
import { kernelLab } from '../verify/netns.js';
import { visible } from '../diagnostics/visible.js';
import { familyRecord } from '../model/family.js';
import { probesOf } from '../verify/probes.js';
import { LabError, sendProbes } from '../verify/traffic.js';
import { verifyArtifacts } from '../verify/verify.js';
import { EXIT_OK, EXIT_POLICY, EXIT_USAGE, type IO } from './io.js';
import type { Options } from './options.js';
import { failed, report, unreadable } from './output.js';
import { readAndCompile } from './read-policy.js';

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
    return unreadable(result.diagnostics) ? EXIT_USAGE : EXIT_POLICY;
  }
  const refused = await verifyArtifacts(result.artifacts, lab.backends, compiled.file);
  // Once loaded, every intent test is sent as a real connection too.
  const { probes, unsent } = result.ir && refused.length === 0 ? probesOf(result.ir) : { probes: [], unsent: [] };
  let disagree: Diagnostic[] = [];
  try {
    if (probes.length > 0) disagree = await sendProbes(result.artifacts, lab.backends, probes, result.ir!.ownership);
  } catch (e) {
    if (!(e instanceof LabError)) throw e;
    report([...result.diagnostics, ...refused].sort(compareDiagnostics), format, color, io.stdout);
    io.stderr(`ipfence: verify loaded the rules but could not send the test connections: ${visible(e.message)}\n`);
    return EXIT_USAGE;
  }
  const all = [...result.diagnostics, ...refused, ...disagree].sort(compareDiagnostics);
  report(all, format, color, io.stdout);
  const ends = `back end${lab.backends.length > 1 ? 's' : ''}`;
  if (refused.length === 0) io.stderr(`ipfence: the kernel accepted rules.v4 and rules.v6 on the ${lab.backends.join(' and ')} ${ends}\n`);
  if (probes.length > 0) io.stderr(`ipfence: sent ${probes.length * lab.backends.length} test connection${probes.length * lab.backends.length > 1 ? 's' : ''} (${probes.length} per back end); the kernel ${disagree.length === 0 ? 'agreed with the packet model on every one' : `disagreed on ${disagree.length}`}\n`);
  for (const u of unsent) io.stderr(`ipfence: not sent: test '${visible(u.test.origin.label)}' (${familyRecord(u.family).label}): ${u.why}\n`);
  return failed(all, o, io.stderr) ? EXIT_POLICY : EXIT_OK;
}
