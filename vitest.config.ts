import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The kernel labs' files first, then the rest in vitest's own order. They are the longest (minutes
 * each) and spend most of it waiting on other processes (connections timing out, SSH, confirm
 * windows), so the quick CPU-bound files fill the other worker beside them; last, one of them
 * would run alone at the end. On a fresh clone vitest knows no durations and orders by file size,
 * which puts the Ansible lab (a short file, a long run) near the end.
 */
class KernelFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const kernel = (f: TestSpecification) => /[\\/]test[\\/]kernel[\\/]/.test(f.moduleId);
    return [...sorted.filter(kernel), ...sorted.filter((f) => !kernel(f))];
  }
}

/**
 * `npm run test:quick` (IPFENCE_QUICK=1): the suite without what takes minutes, for the loop
 * between edits (about a minute on two cores): the kernel labs, the scale tests, the type check,
 * the random-policy property tests and fuzzing, ShellCheck over every example, and the install
 * and bundle tests, which build and pack. The full suite (`npm test`, CI) runs all of them.
 */
const QUICK_LEAVES_OUT = [
  'test/kernel/**',
  'test/**/*-scale.test.ts',
  'test/typecheck.test.ts',
  'test/fuzz.test.ts',
  'test/model.test.ts',
  'test/properties.test.ts',
  'test/diff-model.test.ts',
  'test/show-model.test.ts',
  'test/unit/apply-sh.test.ts',
  'test/cli/install.test.ts',
  'test/cli/bundle.test.ts',
];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: process.env.IPFENCE_QUICK === '1' ? [...configDefaults.exclude, ...QUICK_LEAVES_OUT] : configDefaults.exclude,
    pool: 'forks',
    // Two files at a time even on a two-core machine (vitest's default there is one): the kernel
    // labs wait more than they compute, and each lab is its own namespaces, state folder and lock.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    sequence: { sequencer: KernelFirst },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
