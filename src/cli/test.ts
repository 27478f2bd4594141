import { basename } from 'node:path';
import { compareDiagnostics, type Diagnostic } from '../diagnostics/diagnostic.js';
import { visible } from '../diagnostics/visible.js';
import { compile, type CompileResult } from '../pipeline.js';
import { compileInventory, onceAcrossHosts } from './inventory.js';
import { EXIT_OK, EXIT_POLICY, EXIT_USAGE, type IO } from './io.js';
import type { Options } from './options.js';
import { failed, report, unreadable } from './output.js';
import { readPolicy, includesOf } from './read-policy.js';
import { pathKey } from '../model/path.js';

/**
 * `ipfence test POLICY...` (or `--inventory HOSTS`: every host's): the policies' intent tests on
 * the packet model. Stylish output lists
 * every test, passed or failed, before the diagnostics; the machine formats carry the failures
 * (test-failed, at each test's line) with every other finding. Exit 1 when a test fails.
 */
export async function testCommand(paths: readonly string[], o: Options, io: IO): Promise<number> {
  const all: Diagnostic[] = [];
  const lines: string[] = [];
  const count = { passed: 0, failed: 0 };
  let ioFailed = false;
  if (o.values.inventory !== undefined) {
    // Every host's tests, under its name: a shared file's tests are proved in each host that has them.
    const { hosts, diagnostics, ioFailed: bad } = await compileInventory(o.values.inventory, o, io, false);
    ioFailed = bad;
    all.push(...diagnostics, ...onceAcrossHosts(hosts));
    for (const h of hosts) listTests(h.host, h.result, lines, count);
  }
  const tested = new Set<string>();
  for (const path of paths) {
    const src = await readPolicy(path, o, io, false);
    if (src.problem) {
      all.push(src.problem);
      ioFailed = true;
      continue;
    }
    // One file named twice (p.yaml ./p.yaml, a hard link) is tested once.
    if (src.id !== undefined && tested.has(src.id)) continue;
    if (src.id !== undefined) tested.add(src.id);
    const { includes, identity } = await includesOf(src, src.text!, undefined, o, io);
    const result = compile(src.text!, src.file, basename(src.file), { severity: o.severity, emit: false, hostDir: o.hostDir, includes, identity });
    all.push(...result.diagnostics);
    listTests(src.file, result, lines, count);
    if (result.ir && (result.ir.tests.length === 0)) io.stderr(`ipfence: ${visible(src.file)} has no tests; add a \`tests:\` list (see docs/policy.md#intent-tests-explain-diff-and-show)\n`);
  }
  all.sort(compareDiagnostics);
  const total = count.passed + count.failed;
  if (o.format === 'stylish' && lines.length > 0) io.stdout(`${lines.join('\n')}\n\n${total} test${total === 1 ? '' : 's'}: ${count.passed} passed, ${count.failed} failed\n\n`);
  report(all, o.format, io.colorStdout && !o.values['no-color'], io.stdout);
  return ioFailed || unreadable(all) ? EXIT_USAGE : failed(all, o, io.stderr) ? EXIT_POLICY : EXIT_OK;
}

/** One policy's tests, pass or fail, under `title` (its file, or an inventory's host). */
function listTests(title: string, result: CompileResult, lines: string[], count: { passed: number; failed: number }): void {
  const failing = new Set(result.diagnostics.filter((d) => d.code === 'test-failed').map((d) => (d.path === undefined ? undefined : pathKey(d.path))));
  const tests = result.ir?.tests ?? [];
  if (tests.length > 0) lines.push(visible(title));
  for (const t of tests) {
    const bad = failing.has(pathKey(t.origin.path));
    if (bad) count.failed++;
    else count.passed++;
    const { file, line, col } = t.origin.loc;
    lines.push(`  ${bad ? 'fail' : 'pass'}  ${visible(t.origin.label)}  ${file === title ? '' : `${visible(file)}:`}${line}:${col}`);
  }
}
