import { Command } from 'commander';
import { describeTarget } from '@kpb/backend';
import { loadBackend } from '../backends.ts';
import { loadCluster } from '../input.ts';
import { resolvePlans, resolveSettings, resolveTarget, withCommonOptions, type CommonOptions } from '../options.ts';

export function verifyCommand(): Command {
  return withCommonOptions(
    new Command('verify')
      .description('read the rules back from the kernel and compare them with a cluster description; exit 1 and list every difference if they differ')
      .option('-i, --input <file>', 'cluster description (JSON or YAML; - for standard input)')
      .option('--max <n>', 'differences to print at most', '50'),
  ).action(async (opts: CommonOptions & { input?: string; max: string }) => {
    const target = resolveTarget(opts, 'read');
    const cluster = loadCluster(opts.input);
    const plans = resolvePlans(opts, cluster, resolveSettings(opts, cluster));
    const backend = loadBackend(opts);
    const t0 = performance.now();
    const result = await backend.verify(target, plans);
    const ms = (performance.now() - t0).toFixed(0);
    if (result.ok) {
      process.stdout.write(`kpb verify: ${describeTarget(target)} holds exactly the ${backend.name} rules of ${opts.input}, ${plans.map((p) => p.family).join(' + ')} (${ms} ms)\n`);
      return;
    }
    const max = Math.max(1, Number(opts.max) || 50);
    const lines = result.differences.slice(0, max).map((d) => `  ${d.kind.padEnd(10)} ${d.family ? `${d.family} ` : ''}${d.object}${d.detail ? `\n             ${d.detail.replace(/\n/g, '\n             ')}` : ''}`);
    if (result.differences.length > max) lines.push(`  … and ${result.differences.length - max} more`);
    process.stdout.write(`kpb verify: ${describeTarget(target)} differs from ${opts.input} in ${result.differences.length} place(s):\n${lines.join('\n')}\n`);
    process.exitCode = 1;
  });
}
