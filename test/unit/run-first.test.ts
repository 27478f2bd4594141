import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APPLY_BODY, shellData } from '../../src/emit/apply.js';
import { runFirstList } from '../../src/emit/emit.js';

/**
 * coexist's run-first names (chains and sets whose rules stay ahead of ipfence's jump) are
 * compared as text by apply.sh: every regular-expression character in a name is only itself.
 * The body's own awk (hook_state, misplaced_hooks) runs here on iptables -S text from a stub, in
 * dash and bash, with mawk or whatever awk the machine has.
 */

/** The body's text from `start` to the first line that is exactly `end`. */
function piece(start: string, end: string): string {
  const from = APPLY_BODY.indexOf(start);
  expect(from, start).toBeGreaterThanOrEqual(0);
  const to = APPLY_BODY.indexOf(`\n${end}\n`, from);
  return APPLY_BODY.slice(from, to + end.length + 2);
}

const dir = mkdtempSync(join(tmpdir(), 'ipfence-runfirst-'));

/** Where hook_state puts the last rule that must run first in a chain holding `rules`, and what misplaced_hooks says of them after ipfence's jump. */
function judge(shell: string, patterns: readonly string[], rules: readonly string[]): { before: number; misplaced: string } {
  const stub = join(dir, 'stub');
  writeFileSync(join(dir, 'rules'), [...rules.map((r) => `-A INPUT ${r}`), '-A INPUT -j IPFENCE-INPUT'].join('\n') + '\n');
  writeFileSync(stub, `#!/bin/sh\ncat '${join(dir, 'rules')}'\n`, { mode: 0o755 });
  const script = [
    shellData([{ name: 'RUN_FIRST', value: runFirstList(patterns) }]),
    piece("RUN_FIRST_AWK='", "\t\t}'"),
    piece('hook_state() {', '}'),
    piece('misplaced_hooks() {', '}'),
    `hook_state '${stub}' filter INPUT IPFENCE-INPUT`,
    // ipfence's jump first, then the same rules: those that must run first are reported.
    `{ echo '*filter'; echo '-A INPUT -j IPFENCE-INPUT'; sed 's/^/-A INPUT /' <<'EOF'\n${rules.join('\n')}\nEOF\n} | misplaced_hooks`,
  ].join('\n');
  const r = spawnSync(shell, ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH, LC_ALL: 'C', HOME: dir } });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const [state, ...said] = r.stdout.split('\n');
  return { before: Number(state!.split(' ')[4]), misplaced: said.join('\n') };
}

describe('run-first names are matched as text', () => {
  // [pattern, a chain of exactly that name, a name a regular expression of the pattern would match]
  const cases: [string, string, string][] = [
    ['a+b', 'a+b', 'aab'],
    ['f2b.x', 'f2b.x', 'f2bax'],
    ['c*', 'c*d', 'xcd'],
    ['q?', 'q?', 'q'],
    ['[ab]', '[ab]', 'a'],
    ['x]y', 'x]y', 'x]yy'],
    ['(g)', '(g)', 'g'],
    ['{1}', '{1}', '1'],
    ['h{2}', 'h{2}', 'hh'],
    ['m|n', 'm|n', 'm'],
    ['^s', '^s', 's'],
    ['t$', 't$', 't'],
    ['u\\d', 'u\\d', 'u1'],
    ['v\\', 'v\\', 'v'],
    ['w.*', 'w.zz', 'wzz'],
  ];
  it.each(['dash', 'bash'])('in %s: a jump to the very name runs first, a name a pattern would match does not', (shell) => {
    for (const [pattern, same, trick] of cases) {
      expect(judge(shell, [pattern], ['-p tcp -j ACCEPT', `-j ${same}`, '-p udp -j ACCEPT']).before, `${pattern}: ${same}`).toBe(2);
      expect(judge(shell, [pattern], ['-p tcp -j ACCEPT', `-j ${trick}`, '-p udp -j ACCEPT']).before, `${pattern}: ${trick}`).toBe(0);
      // A set of that name (fail2ban's ipset actions write no chain of their own).
      const set = judge(shell, [pattern], [`-m set --match-set ${same} src -j REJECT`, `-m set --match-set ${trick} src -j REJECT`]);
      expect(set.before, `${pattern}: set ${same}`).toBe(1);
      expect(set.misplaced).toContain(`rule matching set ${same} in INPUT comes after ipfence's`);
      expect(set.misplaced).not.toContain(`set ${trick} `);
    }
  });

  it('a prefix and * matches the names that start with the prefix, and DOCKER-USER is always first', () => {
    expect(judge('sh', ['f2b-*'], ['-j f2b-sshd', '-j f2b', '-j xf2b-sshd']).before).toBe(1);
    expect(judge('sh', [], ['-j ACCEPT', '-j DOCKER-USER', '-j DOCKER-USERS']).before).toBe(2);
  });
});
