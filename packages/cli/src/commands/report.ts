import { Command } from 'commander';
import { UsageError } from '../errors.ts';

export function reportCommand(): Command {
  return new Command('report')
    .description('redraw a benchmark report (report.md + SVG charts) from results.json; several folders are merged into one comparison')
    .argument('<dirs...>', 'result folders holding results.json')
    .option('-o, --out <dir>', 'folder for the merged report (default: the first folder)')
    .action(async (dirs: string[], opts: { out?: string }) => {
      let mod: { writeReport: (dirs: string[], out: string) => Promise<string> };
      try {
        mod = (await import('@kpb/bench' as string)) as typeof mod;
      } catch {
        throw new UsageError('the bench package is not available in this checkout');
      }
      const out = await mod.writeReport(dirs, opts.out ?? dirs[0]!);
      process.stdout.write(`kpb report: wrote ${out}\n`);
    });
}
