import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { loadBackend } from '../backends.ts';
import { loadCluster } from '../input.ts';
import { resolvePlans, resolveSettings, withCommonOptions, type CommonOptions } from '../options.ts';

export function compileCommand(): Command {
  return withCommonOptions(
    new Command('compile')
      .description("print the backend's rules for a cluster without touching any kernel (iptables-restore input, nft script)")
      .option('-i, --input <file>', 'cluster description (JSON or YAML; - for standard input)')
      .option('-o, --output <file>', 'file to write (default: standard output)'),
  ).action(async (opts: CommonOptions & { input?: string; output?: string }) => {
    const cluster = loadCluster(opts.input);
    const resolved = resolveSettings(opts, cluster);
    if (resolved.note) process.stderr.write(`kpb: ${resolved.note}\n`);
    const backend = loadBackend(opts);
    const text = backend.renderText(resolvePlans(opts, cluster, resolved));
    if (opts.output) writeFileSync(opts.output, text);
    else process.stdout.write(text);
  });
}
