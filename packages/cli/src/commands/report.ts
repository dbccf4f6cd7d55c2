import { Command } from 'commander';
import { UsageError } from '../errors.ts';

export function reportCommand(): Command {
  return new Command('report')
    .description(
      'redraw a benchmark report (report.md, SVG charts, an offline index.html) from results.json; several folders are merged into one comparison.\n' +
        'With --collect: split a log of the deploy Job (`kubectl logs -l job-name=kpb-bench --prefix`) into a folder per host and report them all.',
    )
    .argument('[dirs...]', 'result folders holding results.json')
    .option('-o, --out <dir>', 'folder for the merged report (default: the first folder; required with --collect)')
    .option('--collect <log>', 'a log holding `=== kpb-results <host> begin/end ===` blocks (`-`: standard input)')
    .action(async (dirs: string[], opts: { out?: string; collect?: string }) => {
      // Loaded only here: the chart renderer (vega) is heavy and no other command needs it.
      const { collectReport, readLog, writeReport } = await import('@kpb/bench');
      if (opts.collect !== undefined) {
        if (dirs.length) throw new UsageError('--collect takes the log, not result folders');
        if (!opts.out) throw new UsageError('--collect needs -o DIR (a folder per host is written there)');
        const { report, hosts } = await collectReport(readLog(opts.collect), opts.out);
        process.stdout.write(`kpb report: ${hosts.length} host(s) (${hosts.join(', ')}); wrote ${report}\n`);
        return;
      }
      if (!dirs.length) throw new UsageError('give result folders, or --collect LOG');
      const out = await writeReport(dirs, opts.out ?? dirs[0]!);
      process.stdout.write(`kpb report: wrote ${out}\n`);
    });
}
