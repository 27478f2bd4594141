// npm run bench: ipfence against ferm on the same machine, on generated policies of 1k, 10k and
// 50k rules (200k with BENCH_LARGE=1). Prints a markdown table of medians. As root it also times
// loading our output into a throwaway network namespace: linear rules against ipsets.
// BENCH_BASELINE=DIR also times another build (a checkout of an earlier commit, built) in the same
// interleaved rounds, to compare code rather than minutes of this machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { egressPolicy, fermConfig, ipfencePolicy, operatorFerm, operatorPolicy } from './generate.mjs';

const BIN = 'bin/ipfence.cjs';
/** Reads the policy and prints its lines, compiling nothing: the least any Node compiler spends. */
const FLOOR = 'bench/floor.mjs';
const sizes = [1000, 10000, 50000, ...(process.env.BENCH_LARGE === '1' ? [200000] : [])];
const runsFor = (n) => (n <= 50000 ? 9 : 3);
// Inside the working directory (.tmp/, ignored by git): ipfence reads only files of the checkout it runs in.
mkdirSync('.tmp', { recursive: true });
const work = mkdtempSync(join(process.cwd(), '.tmp', 'ipfence-bench-'));
const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const ms = (x) => (x === undefined ? "n/a" : Math.round(x) >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`);

/**
 * @param {string} cmd
 * @param {string[]} args
 * @param {import('node:child_process').SpawnSyncOptions} opts
 */
function timed(cmd, args, opts = {}) {
  const t = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30, ...opts });
  const wall = performance.now() - t;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return { wall, stdout: r.stdout };
}

/** Peak RSS (MB) of one run of a script, read by the process itself at exit (no GNU time needed). */
function peakRss(scriptFile, args) {
  const file = JSON.stringify(resolve(scriptFile));
  const script = `process.argv.splice(1, 0, 'script'); process.on('exit', () => process.stderr.write('RSS ' + process.resourceUsage().maxRSS + '\\n')); await import(${file});`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, ...args], { encoding: 'utf8' });
  return Number(/RSS (\d+)/.exec(r.stderr)?.[1] ?? 0) / 1024;
}

const hasFerm = spawnSync('ferm', ['--version']).status === 0;
const root = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0 && spawnSync('ipset', ['--version']).status === 0;

if (!existsSync('dist/ipfence.cjs')) {
  console.error('dist/ipfence.cjs is missing: run npm run build first');
  process.exit(2);
}

/** The command's environment without NODE_EXTRA_CA_CERTS (see below the table), or undefined where it is not set. */
const extraCa = process.env.NODE_EXTRA_CA_CERTS;
const withoutCa = extraCa === undefined ? undefined : Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
const BASELINE = process.env.BENCH_BASELINE ? resolve(process.env.BENCH_BASELINE) : undefined;
const BASELINE_BIN = BASELINE && join(BASELINE, 'bin', 'ipfence.cjs');
if (BASELINE_BIN && !existsSync(join(BASELINE, 'dist', 'ipfence.cjs'))) {
  console.error(`BENCH_BASELINE: ${BASELINE} has no dist/ipfence.cjs; run npm ci (or npm run build) there first`);
  process.exit(2);
}

/** Other commands timed in the same rounds: the baseline build, and at 50k this build without NODE_EXTRA_CA_CERTS. */
function variantsOf(n, policy, dir) {
  const out = [];
  if (BASELINE_BIN) out.push({ key: 'baseline', args: [BASELINE_BIN, 'compile', policy, '-o', join(dir, 'baseline')], opts: {} });
  if (withoutCa && n === 50000) out.push({ key: 'noca', args: [BIN, 'compile', policy, '-o', join(dir, 'noca')], opts: { env: withoutCa } });
  return out;
}

const rows = [];
for (const n of sizes) {
  const dir = join(work, String(n));
  mkdirSync(dir);
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, ipfencePolicy(n));
  writeFileSync(join(dir, 'policy.ferm'), fermConfig(n));
  // Interleaved rounds: this machine's speed moves by 10% and more within minutes, and the ratio
  // to ferm is only meaningful when both ran in the same minutes.
  // The baseline build and the line without NODE_EXTRA_CA_CERTS are timed in the same rounds, so
  // that they compare with the table's number.
  const variants = variantsOf(n, policy, dir);
  const walls = [];
  const fermWalls = [];
  const floorWalls = [];
  const variantWalls = variants.map(() => /** @type {number[]} */ ([]));
  for (let i = 0; i < runsFor(n); i++) {
    walls.push(timed(process.execPath, [BIN, 'compile', policy, '-o', join(dir, 'out')]).wall);
    floorWalls.push(timed(process.execPath, [FLOOR, policy, join(dir, 'floor')]).wall);
    variants.forEach((v, k) => variantWalls[k]?.push(timed(process.execPath, v.args, v.opts).wall));
    if (hasFerm && i % Math.ceil(runsFor(n) / 3) === 0) fermWalls.push(timed('ferm', ['--remote', '--fast', join(dir, 'policy.ferm')]).wall);
  }
  const emitted = ['rules.v4', 'rules.v6'].reduce((k, f) => k + readFileSync(join(dir, 'out', f), 'utf8').split('\n').filter((l) => l.startsWith('-A ')).length, 0);
  const row = {
    n,
    ipfence: median(walls),
    rss: peakRss(BIN, ['compile', policy, '-o', join(dir, 'out-rss')]),
    floor: median(floorWalls),
    floorRss: peakRss(FLOOR, [policy, join(dir, 'floor-rss')]),
    ferm: hasFerm ? median(fermWalls) : undefined,
    emitted,
    variants: Object.fromEntries(variants.map((v, k) => [v.key, median(variantWalls[k] ?? [])])),
  };
  if (root) row.load = loadTime(join(dir, 'out'));
  rows.push(row);
  console.error(`done ${n}`);
}

/** Seconds to load rules.v4 + rules.v6 into a fresh namespace (never the root one). */
function loadTime(out) {
  const ns = `ipf-bench-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const t = performance.now();
    for (const [cmd, file] of /** @type {const} */ ([['iptables-restore', 'rules.v4'], ['ip6tables-restore', 'rules.v6']])) {
      const r = spawnSync('ip', ['netns', 'exec', ns, cmd], { input: readFileSync(join(out, file)) });
      if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
    }
    return performance.now() - t;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

/** An allowlist of N addresses compiled two ways: N linear rules, or one rule and an ipset. */
function setsVsLinear(n) {
  const dir = join(work, `allow-${n}`);
  mkdirSync(dir);
  const addrs = Array.from({ length: n }, (_, i) => `198.${18 + ((i >> 15) & 1)}.${(i >> 7) & 255}.${(i & 127) * 2}`);
  const result = {};
  for (const [mode, threshold] of /** @type {const} */ ([['linear', 0], ['sets', 32]])) {
    const policy = join(dir, `${mode}.yaml`);
    writeFileSync(policy, `version: 1\ndefaults: { set-threshold: ${threshold} }\ninbound:\n  - { name: allow, port: 443, from: [${addrs.join(', ')}] }\n`);
    const out = join(dir, mode);
    timed(process.execPath, [BIN, 'compile', policy, '-o', out]);
    const ns = `ipf-bench-${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      const t = performance.now();
      if (mode === 'sets') {
        for (const cmd of [['ipset', 'restore']]) {
          const r = spawnSync('ip', ['netns', 'exec', ns, ...cmd], { input: readFileSync(join(out, 'ipsets')) });
          if (r.status !== 0) throw new Error(String(r.stderr));
        }
        spawnSync('ip', ['netns', 'exec', ns, 'ipset', 'rename', 'ipf-in-1-src-4-new', 'ipf-in-1-src-4']);
      }
      const r = spawnSync('ip', ['netns', 'exec', ns, 'iptables-restore'], { input: readFileSync(join(out, 'rules.v4')) });
      if (r.status !== 0) throw new Error(String(r.stderr));
      result[mode] = { load: performance.now() - t, rules: readFileSync(join(out, 'rules.v4'), 'utf8').split('\n').filter((l) => l.startsWith('-A ')).length };
    } finally {
      spawnSync('ip', ['netns', 'del', ns]);
    }
  }
  return result;
}

/** Start-up: a small policy, where loading the program is most of the work. */
const startup = median(Array.from({ length: 9 }, () => timed(process.execPath, [BIN, 'compile', 'examples/web-server.yaml', '-o', join(work, 'small')]).wall));

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`Machine: ${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}${hasFerm ? `, ${execFileSync('ferm', ['--version'], { encoding: 'utf8' }).split('\n')[0]}` : ''}\n`);
console.log('| rules in policy | rules emitted (v4+v6) | ipfence median wall | ipfence peak RSS | floor: read and print only | ferm median wall | ferm / ipfence | kernel load of our output |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const ratio = r.ferm === undefined ? 'n/a' : `${(r.ferm / r.ipfence).toFixed(1)}x`;
  console.log(`| ${r.n.toLocaleString('en')} | ${r.emitted.toLocaleString('en')} | ${ms(r.ipfence)} | ${Math.round(r.rss)} MB | ${ms(r.floor)}, ${Math.round(r.floorRss)} MB | ${hasFerm ? ms(r.ferm) : 'ferm not installed'} | ${ratio} | ${r.load === undefined ? 'not root' : ms(r.load)} |`);
}
console.log(`\nThe floor (${FLOOR}) starts Node, reads the policy with ipfence's YAML reader and writes one line per rule and family: no validation, no checks, no IR.`);
console.log(`\nStart-up (examples/web-server.yaml, median of 9): ${ms(startup)}.`);
if (rows.length >= 2) {
  const at = (/** @type {number} */ n) => rows.find((r) => r.n === n)?.ipfence ?? NaN;
  const [a, b, c] = [at(1000), at(10000), at(50000)];
  console.log(`\nScaling: 10k/1k = ${(b / a).toFixed(1)}x time for 10x rules${Number.isNaN(c) ? '' : `; 50k/10k = ${(c / b).toFixed(1)}x for 5x`}.`);
}

const big = rows.find((r) => r.n === 50000);
if (BASELINE_BIN) {
  const commit = spawnSync('git', ['-C', BASELINE, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim() || 'unknown commit';
  console.log(`\nAgainst the baseline build (${BASELINE}, ${commit}), timed in the same rounds:\n`);
  console.log('| rules in policy | this build | baseline | this / baseline |');
  console.log('|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.n.toLocaleString('en')} | ${ms(r.ipfence)} | ${ms(r.variants.baseline)} | ${(r.ipfence / (r.variants.baseline ?? NaN)).toFixed(2)} |`);
}

// NODE_EXTRA_CA_CERTS makes Node read and parse that certificate file when it starts, before any
// of ipfence's code runs (ipfence makes no TLS connection). Some machines set it for a TLS proxy;
// where it is set, every ipfence number above includes that cost, so it is measured apart.
if (withoutCa) {
  const env = withoutCa;
  const bare = (opts) => median(Array.from({ length: 9 }, () => timed(process.execPath, ['-e', '0'], opts).wall));
  const small = median(Array.from({ length: 9 }, () => timed(process.execPath, [BIN, 'compile', 'examples/web-server.yaml', '-o', join(work, 'small-noca')], { env }).wall));
  const bigWall = big?.variants.noca ?? NaN;
  console.log(`\nNODE_EXTRA_CA_CERTS is set here (${extraCa}): Node reads that file at start-up, in every run, before ipfence's code. \`node -e 0\` takes ${ms(bare({}))} with it and ${ms(bare({ env }))} without. Without it, start-up is ${ms(small)} (above: ${ms(startup)})${big ? ` and 50k takes ${ms(bigWall)} (above: ${ms(big.ipfence)}${big.ferm === undefined ? '' : `; ${(big.ferm / bigWall).toFixed(1)}x ferm`})` : ''}.`);
}

// The shape operators write (issue 25): every section mixed, both families, the same rules for
// ferm, timed in the same rounds. The targets are the issue's: ferm's speed at 1k, 4x at 10k,
// 10x at 50k.
console.log('\nOperator-shaped policies (allowlists, bans, open ports, outbound denies, users with exceptions, rate limits, redirects, forwarding, marks; IPv4 and IPv6), all checks on:\n');
console.log('| entries | rules emitted (v4+v6) | ipfence median wall | ferm median wall | ferm / ipfence | target |');
console.log('|---:|---:|---:|---:|---:|---:|');
for (const [n, target] of /** @type {const} */ ([[1000, 1], [10000, 4], [50000, 10]])) {
  const dir = join(work, `operator-${n}`);
  mkdirSync(dir);
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, operatorPolicy(n));
  writeFileSync(join(dir, 'policy.ferm'), operatorFerm(n));
  const walls = [];
  const fermWalls = [];
  const rounds = n <= 1000 ? 9 : n <= 10000 ? 5 : 3;
  for (let i = 0; i < rounds; i++) {
    walls.push(timed(process.execPath, [BIN, 'compile', policy, '-o', join(dir, 'out')]).wall);
    if (hasFerm && (i < 3 || n <= 1000)) fermWalls.push(timed('ferm', ['--remote', '--fast', join(dir, 'policy.ferm')]).wall);
  }
  const emitted = ['rules.v4', 'rules.v6'].reduce((k, f) => k + readFileSync(join(dir, 'out', f), 'utf8').split('\n').filter((l) => l.startsWith('-A ')).length, 0);
  const ours = median(walls);
  const theirs = hasFerm ? median(fermWalls) : undefined;
  console.log(`| ${n.toLocaleString('en')} | ${emitted.toLocaleString('en')} | ${ms(ours)} | ${ms(theirs)} | ${theirs === undefined ? 'n/a' : `${(theirs / ours).toFixed(1)}x`} | ${target}x |`);
}

// The same policies in the shapes that used to be slow: the default allow-first order (its order
// check compared every allow with every earlier deny) and a policy with thousands of findings
// (each needs a file position).
console.log('\nOther shapes (median wall, 3 runs):\n');
console.log('| policy | 10k rules | 50k rules | 50k / 10k |');
console.log('|---|---:|---:|---:|');
/** @type {[string, (n: number) => string][]} */
const shapes = [
  ['default order (allow-first, order check runs)', (n) => ipfencePolicy(n, { allowFirst: true })],
  ['IPv4 sources only (one warning per drop: 2,500 / 12,500 findings)', (n) => ipfencePolicy(n, { v4Only: true })],
  // Non-ASCII text must stay on the fast reader's path: in a comment it does.
  ['the same, under a comment `# Müller — DB`', (n) => `# Müller — DB\n${ipfencePolicy(n, { v4Only: true })}`],
  ['egress: host denies, then /24 allows (allow-first)', egressPolicy],
  // Tools print IPv6 in RFC 5952 text; such text is taken as written, without the URL parser.
  ['IPv6 sources in RFC 5952 text (`2001:db8::5`, not `2001:db8:0::5`)', (n) => ipfencePolicy(n, { canonicalV6: true })],
];
for (const [label, generate] of shapes) {
  const [t10, t50] = [10000, 50000].map((n) => {
    const file = join(work, `shape-${n}.yaml`);
    writeFileSync(file, generate(n));
    return median(Array.from({ length: 3 }, () => timed(process.execPath, [BIN, 'compile', file, '-o', join(work, 'shape-out')]).wall));
  });
  console.log(`| ${label} | ${ms(t10)} | ${ms(t50)} | ${((t50 ?? NaN) / (t10 ?? NaN)).toFixed(1)}x |`);
}
if (!hasFerm) console.log('\nferm is not installed (apt-get install ferm) so its column is empty.');
if (root) {
  console.log('\nA 10,000-address allowlist on one port, loaded into a throwaway namespace:\n');
  console.log('| compiled as | rules in INPUT | kernel load |');
  console.log('|---|---:|---:|');
  const s = setsVsLinear(10000);
  console.log(`| linear rules (set-threshold: 0) | ${s.linear.rules.toLocaleString('en')} | ${ms(s.linear.load)} |`);
  console.log(`| ipset (default) | ${s.sets.rules} | ${ms(s.sets.load)} |`);
} else {
  console.log('\nRun as root to add kernel load times (linear rules against ipsets).');
}
rmSync(work, { recursive: true, force: true });
