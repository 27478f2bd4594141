// The floor: what any compiler of this policy into these files spends in Node, doing no
// compiling at all. It starts Node, reads the policy with ipfence's own YAML reader, prints one
// restore line per rule and family (no checks, no IR) and writes both files. bench/run.mjs times
// it beside ipfence, so the table shows how much of ipfence's time is compiling.
// Usage: node bench/floor.mjs policy.yaml out-dir
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// The built reader, typed as its source (the bench runs what `npm run build` wrote).
/** @type {typeof import('../src/load/fast-yaml.js')} */
const { fastYaml } = await import(new URL('../dist/src/load/fast-yaml.js', import.meta.url).href);

const [policyFile = '', outDir = ''] = process.argv.slice(2);
/** @type {any} */
const policy = fastYaml(readFileSync(policyFile, 'utf8'))?.value;
if (!policy) throw new Error(`${policyFile} is outside fastYaml's subset`);
mkdirSync(outDir, { recursive: true });
const verdict = { allow: 'ACCEPT', drop: 'DROP', reject: 'REJECT' };
// Lines are joined in batches of 1,024, as ipfence's renderer does: keeping 100,000 line strings
// until one final join made this floor about 50 ms slower at 50k, a cost no careful compiler pays.
const BATCH = 1024;
/** @type {[string, string, number][]} */ ([['rules.v4', '.', 32], ['rules.v6', ':', 128]]).forEach(([file, marker, bits]) => {
  const blocks = ['*filter', ':INPUT DROP [0:0]'];
  /** @type {string[]} */
  let batch = [];
  for (const r of policy.inbound) {
    const src = (r.from ?? []).find((/** @type {string} */ a) => a.includes(marker));
    if (r.from && src === undefined) continue;
    batch.push(`-A INPUT${src ? ` -s ${src}/${bits}` : ''} -p tcp -m tcp --dport ${r.port} -m comment --comment "${r.name}" -j ${verdict[r.action ?? 'allow']}`);
    if (batch.length === BATCH) {
      blocks.push(batch.join('\n'));
      batch = [];
    }
  }
  if (batch.length > 0) blocks.push(batch.join('\n'));
  blocks.push('COMMIT', '');
  writeFileSync(join(outDir, file), blocks.join('\n'));
});
