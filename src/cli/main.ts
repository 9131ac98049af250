/**
 * `milkit <command> [args]`. Exit codes: 0 ok, 1 the work failed (bad data, missing file), 2 the
 * command was called wrongly (usage printed). Errors print one line; MILKIT_DEBUG=1 adds the stack.
 */
import { closest } from '../didYouMean';
import { type CliContext } from './command';
import { COMMAND_NAMES, allCommands, command } from './commands';
import { UsageError } from './flags';
import { Progress } from './progress';
import { milkitVersion } from '../version';

function context(): CliContext {
  return {
    print: (text) => process.stdout.write(`${text}\n`),
    json: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    warn: (text) => process.stderr.write(`${text}\n`),
    progress: (label, total, enabled = true, status) => new Progress(label, total, { enabled, status }),
  };
}

function overview(): string {
  const w = Math.max(...COMMAND_NAMES.map((n) => n.length)) + 2;
  return [
    `milkit ${milkitVersion()}: Multiple Instance Learning on TensorFlow.js`,
    '',
    'usage: milkit <command> [options]      milkit <command> --help',
    '',
    'commands:',
    ...allCommands().map((c) => `  ${c.name.padEnd(w)}${c.summary}`),
  ].join('\n');
}

/** `milkit inspect x | head -1`: the reader went away, which is not an error; stop quietly. */
let pipeHandlersInstalled = false;
function exitQuietlyOnClosedPipe(): void {
  if (pipeHandlersInstalled) return; // main() runs many times in one process in tests
  pipeHandlersInstalled = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}

export async function main(argv: string[]): Promise<number> {
  exitQuietlyOnClosedPipe();
  const ctx = context();
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    const cmd = name === 'help' && rest[0] ? command(rest[0]) : undefined;
    ctx.print(cmd ? cmd.usage : overview());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    ctx.print(milkitVersion());
    return 0;
  }
  const cmd = command(name);
  if (!cmd) {
    const hint = closest(name, [...COMMAND_NAMES]);
    process.stderr.write(
      `milkit: unknown command "${name}". ` +
        `Fix: ${hint ? `did you mean "milkit ${hint}"? ` : ''}milkit --help lists the commands\n`,
    );
    return 2;
  }
  // `dataset <name> --help` is answered by the command itself (it knows each data set's options).
  if ((rest.includes('--help') || rest.includes('-h')) && cmd.name !== 'dataset') {
    ctx.print(cmd.usage);
    return 0;
  }
  try {
    return await cmd.run(rest, ctx);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    // One line: a wrong call names what to type instead, and where the options are listed.
    const usage = err instanceof UsageError;
    const fix = usage ? `. Fix: ${err.fix ? `${err.fix}; ` : ''}milkit ${name} --help lists the options` : '';
    process.stderr.write(`milkit ${name}: ${e.message}${fix}\n`);
    if (process.env.MILKIT_DEBUG && e.stack) process.stderr.write(`${e.stack}\n`);
    return usage ? 2 : 1;
  }
}
