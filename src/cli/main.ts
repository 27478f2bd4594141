import { VERSION } from '../util/package-root.js';
import { checkCommand } from './check.js';
import { compileCommand, inventoryCommand } from './compile.js';
import { diffCommand } from './diff.js';
import { explainCommand } from './explain.js';
import { showCommand } from './show.js';
import { testCommand } from './test.js';
import { verifyCommand } from './verify.js';
import { EXIT_OK, EXIT_USAGE, type IO } from './io.js';
import { expandGlobs } from './glob.js';
import { commandHelp, HELP, isCommand, options, parse, UsageError } from './options.js';

export { EXIT_OK, EXIT_POLICY, EXIT_USAGE, type IO } from './io.js';

/** The CLI: parses argv, runs one command, and is the only place that decides the exit status. */
export async function main(argv: readonly string[], io: IO): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (e) {
    io.stderr(`ipfence: ${(e as Error).message}\nRun 'ipfence --help' for usage.\n`);
    return EXIT_USAGE;
  }
  const { values, positionals } = args;
  if (values.help) {
    // `ipfence compile --help`: that command's; anything else, the whole.
    const command = positionals[0];
    io.stdout(isCommand(command) ? commandHelp(command) : HELP);
    return EXIT_OK;
  }
  if (values.version) {
    io.stdout(`${VERSION}\n`);
    return EXIT_OK;
  }
  try {
    const [command, ...files] = positionals;
    const o = options(values);
    if (values['exit-code'] && command !== 'diff') throw new UsageError('--exit-code is for diff: exit 1 when some packet changes verdict');
    if (values.format === 'markdown' && !['diff', 'show'].includes(command ?? '')) throw new UsageError('--format markdown is for diff and show; diagnostics print as stylish, gcc, json, github or sarif');
    if (values.inventory !== undefined && command === 'test') {
      if (files.length !== 0) throw new UsageError('--inventory names the hosts and their policies; give no policy file beside it');
      return await testCommand([], o, io);
    }
    if (values.inventory !== undefined) {
      if (command !== 'compile' && command !== 'check') throw new UsageError('--inventory is for compile, check and test');
      if (files.length !== 0) throw new UsageError('--inventory names the hosts and their policies; give no policy file beside it');
      if (values.against !== undefined || values.print) throw new UsageError('--inventory does not take --against or --print');
      return await inventoryCommand(values.inventory, command, o, io);
    }
    if (command === 'compile') {
      if (files.length !== 1) throw new UsageError('compile takes exactly one policy file (or -)');
      return await compileCommand(files[0]!, o, io);
    }
    if (command === 'check') {
      if (files.length === 0) throw new UsageError('check takes one or more policy files (or -)');
      const expanded = await expandGlobs(files, io.cwd);
      if (values.against !== undefined && expanded.length !== 1) throw new UsageError('--against compares one policy with one output folder; give exactly one policy');
      return await checkCommand(expanded, o, io);
    }
    if (command === 'test') {
      if (files.length === 0) throw new UsageError('test takes one or more policy files (or -)');
      return await testCommand(await expandGlobs(files, io.cwd), o, io);
    }
    if (command === 'diff') return await diffCommand(files, o, io);
    if (command === 'show') {
      if (files.length !== 1) throw new UsageError('show takes exactly one policy file (or -)');
      return await showCommand(files[0]!, o, io);
    }
    if (command === 'explain') {
      if (files.length !== 2) throw new UsageError("explain takes a policy file and a packet: ipfence explain POLICY 'tcp 203.0.113.5 -> 10.0.0.1:22 in eth0'");
      return await explainCommand(files[0]!, files[1]!, o, io);
    }
    if (command === 'verify') {
      if (files.length !== 1) throw new UsageError('verify takes exactly one policy file (or -)');
      return await verifyCommand(files[0]!, o, io);
    }
    throw new UsageError(command === undefined ? 'missing command: compile, check, test, explain, diff, show or verify' : `unknown command '${command}'; use compile, check, test, explain, diff, show or verify`);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`ipfence: ${e.message}\nRun 'ipfence --help' for usage.\n`);
      return EXIT_USAGE;
    }
    io.stderr(`ipfence: internal error: ${(e as Error).message}\nThis is a bug in ipfence; please report it with the policy that caused it.\n`);
    if (process.env.IPFENCE_DEBUG) io.stderr(`${(e as Error).stack ?? ''}\n`);
    return EXIT_USAGE;
  }
}
