import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
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

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Two files at a time even on a two-core machine (vitest's default there is one): the kernel
    // labs wait more than they compute, and each lab is its own namespaces, state folder and lock.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    sequence: { sequencer: KernelFirst },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
