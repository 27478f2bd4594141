import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile } from '../../src/pipeline.js';

const policies = readdirSync('examples').filter((f) => f.endsWith('.yaml')).map((f) => `examples/${f}`);

describe('generated shell scripts', () => {
  it.each(policies)('%s: apply.sh (and routing.sh) parse as POSIX sh', (file) => {
    const r = compile(readFileSync(file, 'utf8'), file);
    for (const a of (r.artifacts ?? []).filter((x) => x.file.endsWith('.sh'))) {
      expect(a.executable).toBe(true);
      expect(a.content.startsWith('#!/bin/sh\n')).toBe(true);
      const check = spawnSync('sh', ['-n'], { input: a.content, encoding: 'utf8' });
      expect(check.stderr, `${file} ${a.file}`).toBe('');
      expect(check.status).toBe(0);
    }
  });
  it('a coexist apply.sh never runs a flushing restore, a full one never uses --noflush', () => {
    const coexist = compile(readFileSync('examples/docker-host.yaml', 'utf8'), 'd.yaml').artifacts!.find((a) => a.file === 'apply.sh')!.content;
    const full = compile(readFileSync('examples/web-server.yaml', 'utf8'), 'w.yaml').artifacts!.find((a) => a.file === 'apply.sh')!.content;
    const restores = (s: string) => s.split('\n').filter((l) => /-restore"? /.test(l) && !l.trim().startsWith('#'));
    expect(restores(coexist).length).toBe(2);
    for (const l of restores(coexist)) expect(l).toContain('--noflush');
    expect(restores(full).length).toBe(2);
    for (const l of restores(full)) expect(l).not.toContain('--noflush');
  });
});
