import { basename } from 'node:path';
import { compareDiagnostics, type Diagnostic } from '../diagnostics/diagnostic.js';
import { visible } from '../diagnostics/visible.js';
import { compile } from '../pipeline.js';
import { EXIT_OK, EXIT_POLICY, EXIT_USAGE, type IO } from './io.js';
import type { Options } from './options.js';
import { failed, report } from './output.js';
import { readPolicy, includesOf } from './source.js';

/**
 * `ipfence test POLICY...`: the policies' intent tests on the packet model. Stylish output lists
 * every test, passed or failed, before the diagnostics; the machine formats carry the failures
 * (test-failed, at each test's line) with every other finding. Exit 1 when a test fails.
 */
export async function testCommand(paths: readonly string[], o: Options, io: IO): Promise<number> {
  const all: Diagnostic[] = [];
  const lines: string[] = [];
  let passed = 0;
  let failedTests = 0;
  let ioFailed = false;
  for (const path of paths) {
    const src = await readPolicy(path, o, io, false);
    if (src.problem) {
      all.push(src.problem);
      ioFailed = true;
      continue;
    }
    const { includes } = await includesOf(src.file, src.text!, undefined, o, io);
    const result = compile(src.text!, src.file, basename(src.file), { severity: o.severity, emit: false, hostDir: o.hostDir, includes });
    all.push(...result.diagnostics);
    const failing = new Set(result.diagnostics.filter((d) => d.code === 'test-failed').map((d) => d.path?.join('/')));
    const tests = result.ir?.tests ?? [];
    if (tests.length > 0) lines.push(visible(src.file));
    for (const t of tests) {
      const bad = failing.has(t.origin.path.join('/'));
      if (bad) failedTests++;
      else passed++;
      const { line, col } = t.origin.loc;
      lines.push(`  ${bad ? 'fail' : 'pass'}  ${visible(t.origin.label)}  ${line}:${col}`);
    }
    if (result.ir && tests.length === 0) io.stderr(`ipfence: ${visible(src.file)} has no tests; add a \`tests:\` list (see docs/policy.md#intent-tests-explain-diff-and-show)\n`);
  }
  all.sort(compareDiagnostics);
  if (o.format === 'stylish' && lines.length > 0) io.stdout(`${lines.join('\n')}\n\n${passed + failedTests} test${passed + failedTests === 1 ? "" : "s"}: ${passed} passed, ${failedTests} failed\n\n`);
  report(all, o.format, io.colorStdout && !o.values['no-color'], io.stdout);
  return ioFailed ? EXIT_USAGE : failed(all, o) ? EXIT_POLICY : EXIT_OK;
}
