import { Command } from 'commander';

export function reportCommand(): Command {
  return new Command('report')
    .description('redraw a benchmark report (report.md, SVG charts, an offline index.html) from results.json; several folders are merged into one comparison')
    .argument('<dirs...>', 'result folders holding results.json')
    .option('-o, --out <dir>', 'folder for the merged report (default: the first folder)')
    .action(async (dirs: string[], opts: { out?: string }) => {
      // Loaded only here: the chart renderer (vega) is heavy and no other command needs it.
      const { writeReport } = await import('@kpb/bench');
      const out = await writeReport(dirs, opts.out ?? dirs[0]!);
      process.stdout.write(`kpb report: wrote ${out}\n`);
    });
}
