/**
 * kpb: compile Kubernetes Services into kube-proxy-style packet-filter rules, load them into a
 * kernel, and compare backends.
 */
import { Command, CommanderError } from 'commander';
import { ModelError } from '@kpb/model';
import { applyCommand } from './commands/apply.ts';
import { compileCommand } from './commands/compile.ts';
import { deployCommand } from './commands/deploy.ts';
import { flushCommand } from './commands/flush.ts';
import { generateCommand } from './commands/generate.ts';
import { reportCommand } from './commands/report.ts';
import { syncCommand } from './commands/sync.ts';
import { traceCommand } from './commands/trace.ts';
import { verifyCommand } from './commands/verify.ts';
import { EXIT, UsageError } from './errors.ts';

export function buildProgram(): Command {
  const program = new Command('kpb')
    .description(
      'Compile Kubernetes Services into kube-proxy-style packet-filter rules (iptables, nft, nftnl),\n' +
        'load them atomically into a network namespace, verify, sync incrementally, and benchmark.',
    )
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false });
  for (const cmd of [generateCommand(), compileCommand(), applyCommand(), syncCommand(), verifyCommand(), traceCommand(), flushCommand(), reportCommand(), deployCommand()]) {
    program.addCommand(cmd);
  }
  program.exitOverride();
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** Run kpb with argv (node, script, …args); returns the exit code. Never throws. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has already printed the message or the help text.
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? EXIT.ok : EXIT.usage;
    }
    const command = argv[2] && !argv[2].startsWith('-') ? ` ${argv[2]}` : '';
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`kpb${command}: ${message}\n`);
    if (process.env.KPB_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    return e instanceof UsageError || e instanceof ModelError ? EXIT.usage : EXIT.failure;
  }
}
