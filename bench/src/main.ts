/**
 * kpb bench: `tsx bench/src/main.ts run …` (what the Nx targets call) and `… report DIR…`.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { selectVariants, variantId } from './backends.ts';
import { collectReport, readLog } from './collect.ts';
import { FIGURE_GROUPS, type FigureGroup } from './figures.ts';
import { REPO_ROOT } from './groups.ts';
import { cleanupAll, installSignalHandlers } from './kernel.ts';
import { headlineMarkdown, writeReport } from './report.ts';
import { FAMILY_MODES, familyModeOf, type FamilyMode, type ResultsFile } from './results.ts';
import { runBench } from './runner.ts';

function intList(v: string): number[] {
  const xs = v.split(',').map((s) => s.trim()).filter(Boolean).map((s) => Number(s.replace(/k$/i, '000')));
  if (!xs.length || xs.some((x) => !Number.isInteger(x) || x < 2 || x > 1_000_000)) {
    throw new InvalidArgumentError('a comma-separated list of integers from 2 to 1000000 (10k allowed)');
  }
  return [...new Set(xs)];
}

function int(min: number, max: number) {
  return (v: string): number => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min || x > max) throw new InvalidArgumentError(`an integer from ${min} to ${max}`);
    return x;
  };
}

function figureGroups(list: string): FigureGroup[] {
  const names = list.split(',').map((x) => x.trim()).filter(Boolean);
  const bad = names.find((f) => !(FIGURE_GROUPS as readonly string[]).includes(f));
  if (bad) throw new InvalidArgumentError(`unknown figure group ${bad} (${FIGURE_GROUPS.join(', ')})`);
  return names as FigureGroup[];
}

/**
 * `--publish`: what a committed comparison needs. 6 rounds, so that every figure taken once a
 * round has a 95% interval of its median at ≤ 10k (the distribution-free interval needs 6
 * samples); 3 above, where a round costs minutes. No warm-up round: the rotating order spreads
 * first-visit costs over the variants, and the load is recorded beside every sample.
 */
const PUBLISH = { services: [1000, 3000, 10_000, 30_000], repeats: 6, repeatsAbove10k: 3 } as const;

function defaultOut(): string {
  const base = path.join(REPO_ROOT, 'results', `${new Date().toISOString().slice(0, 10)}-${os.hostname().replace(/[^A-Za-z0-9._-]/g, '_')}`);
  if (!existsSync(path.join(base, 'results.json'))) return base;
  for (let i = 2; i < 1000; i++) if (!existsSync(path.join(`${base}-${i}`, 'results.json'))) return `${base}-${i}`;
  return `${base}-${Date.now()}`;
}

/** A compact summary for the terminal: median of every figure, a column per backend/layout. */
export function summaryText(r: ResultsFile): string {
  const series = [...new Set(r.results.map(variantId))];
  const keys = [...new Set(r.results.map((x) => `${x.operation}@${x.services}`))];
  const head = ['figure@services', ...series];
  const lines = keys.map((k) => {
    const [op, n] = k.split('@');
    return [
      k,
      ...series.map((s) => {
        const x = r.results.find((y) => y.operation === op && String(y.services) === n && variantId(y) === s);
        if (!x) return '';
        if (x.median === null) return x.overCap ? '>cap' : '–';
        return `${x.median}${x.unit === 'ms' ? '' : ` ${x.unit}`}`;
      }),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const unavailable = (r.backends ?? []).filter((b) => !b.available || b.kernelError);
  const family = familyModeOf(r);
  return [
    `(medians; ms unless marked${family === 'ipv4' ? '' : `; ${family} cluster`})`,
    row(head),
    ...lines.map(row),
    ...unavailable.map((b) => `${variantId(b)}: ${b.available ? `kernel figures stopped: ${b.kernelError}` : `unavailable: ${b.reason}`}`),
    ...(r.environment.kernelFigures ? [] : [`kernel figures not measured: ${r.environment.kernelFiguresReason}`]),
  ].join('\n');
}

export function program(): Command {
  const cmd = new Command('kpb-bench').description('kpb benchmarks: generation, kernel sync, first-packet latency, memory');
  cmd
    .command('run', { isDefault: true })
    .description('measure backends on seeded generated clusters; write results.json, report.md and SVG charts')
    .option('--backends <list>', 'backends or backend/layout ids, comma-separated', 'iptables,nft,nftnl')
    .option('--services <list>', 'cluster sizes (number of services), comma-separated', intList)
    .option('--endpoints <n>', 'endpoints per service', int(0, 1000))
    .option('--repeats <n>', 'measured rounds (each visits every size and backend)', int(1, 1000))
    .option('--repeats-above-10k <n>', 'measured rounds at sizes above 10k services, when fewer (default: --repeats)', int(1, 1000))
    .option('--warmup <n>', 'warm-up rounds, discarded', int(0, 100))
    .option('--seed <n>', 'generator seed', int(0, 2 ** 31 - 1))
    .addOption(
      new Option('--family <mode>', 'IP families of the generated cluster; dual: an IPv4 and an IPv6 plan in every figure (first-packet: through IPv4)')
        .choices(FAMILY_MODES)
        .default('ipv4'),
    )
    .option('--cap-seconds <n>', 'time cap per sample', int(1, 3600))
    .option('--incremental-samples <n>', 'incremental-1 samples per round', int(1, 1000))
    .option('--latency-count <n>', 'TCP connects per service (first, last) per round', int(1, 20_000))
    .option('--generate-ms <n>', 'tinybench time budget per generation task per round, ms', int(1, 600_000))
    .option('--figures <list>', 'figure groups: generate, sync (full-sync … flush), first-packet, rss-peak (default all)')
    .option('--out <dir>', 'result folder (default results/<date>-<hostname>)')
    .option('--quick', 'a sub-minute smoke run: 200 services, 1 repeat, short caps')
    .option('--publish', `the published comparison's defaults: services ${PUBLISH.services.join(',')}, ${PUBLISH.repeats} repeats (${PUBLISH.repeatsAbove10k} above 10k), no warm-up; options given beside it win`)
    .option('--no-kernel', 'generation figures only, even as root')
    .addOption(new Option('--no-progress', 'no progress line on stderr'))
    .option('--no-report', 'write results.json only')
    .action(async (opts: Record<string, unknown>) => {
      const quick = Boolean(opts.quick);
      const publish = Boolean(opts.publish) && !quick;
      const variants = selectVariants(String(opts.backends).split(',').map((s) => s.trim()).filter(Boolean));
      const figures = opts.figures === undefined ? undefined : figureGroups(String(opts.figures));
      const out = path.resolve((opts.out as string | undefined) ?? defaultOut());
      const uninstall = installSignalHandlers((m) => process.stderr.write(`${m}\n`));
      try {
        const { file, results } = await runBench({
          variants,
          services: (opts.services as number[] | undefined) ?? (quick ? [200] : publish ? PUBLISH.services : [1000, 10_000, 30_000]),
          endpointsPerService: (opts.endpoints as number | undefined) ?? 3,
          repeats: (opts.repeats as number | undefined) ?? (quick ? 1 : publish ? PUBLISH.repeats : 5),
          ...(opts.repeatsAbove10k !== undefined || publish ? { repeatsAbove10k: (opts.repeatsAbove10k as number | undefined) ?? PUBLISH.repeatsAbove10k } : {}),
          warmup: (opts.warmup as number | undefined) ?? (quick || publish ? 0 : 1),
          seed: (opts.seed as number | undefined) ?? 1,
          family: opts.family as FamilyMode,
          capSeconds: (opts.capSeconds as number | undefined) ?? (quick ? 20 : 120),
          quick,
          out,
          incrementalSamples: (opts.incrementalSamples as number | undefined) ?? (quick ? 2 : 10),
          latencyCount: (opts.latencyCount as number | undefined) ?? (quick ? 10 : 200),
          generateMs: (opts.generateMs as number | undefined) ?? (quick ? 20 : 500),
          kernel: opts.kernel === false ? false : undefined,
          progress: opts.progress !== false,
          ...(figures ? { figures } : {}),
          command: `kpb-bench ${process.argv.slice(2).join(' ')}`.trim(),
        });
        process.stdout.write(`${summaryText(results)}\n`);
        process.stdout.write(`results: ${file}\n`);
        if (opts.report !== false) process.stdout.write(`report:  ${await writeReport([path.dirname(file)], path.dirname(file))}\n`);
        const measured = (results.backends ?? []).filter((b) => b.available).map(variantId);
        process.stdout.write(`measured: ${measured.join(', ') || 'none'}\n`);
      } finally {
        uninstall();
        await cleanupAll();
      }
    });
  addReportCommand(cmd);
  return cmd;
}

/** `report DIR…` or `report --collect LOG --out DIR`; `headline DIR`. */
function addReportCommand(cmd: Command): void {
  cmd
    .command('headline')
    .description("print the README's headline tables (markdown) from one results folder")
    .argument('<dir>', 'result folder holding results.json')
    .option('--services <n>', 'cluster size of the tables', int(2, 1_000_000), 10_000)
    .action((dir: string, opts: { services: number }) => {
      process.stdout.write(headlineMarkdown(dir, opts.services));
    });
  cmd
    .command('report')
    .description('redraw report.md, the SVG charts and index.html from results.json; several folders merge into one comparison')
    .argument('[dirs...]', 'result folders holding results.json')
    .option('-o, --out <dir>', 'folder for the report (default: the first folder; required with --collect)')
    .option('--collect <log>', 'a log of the deploy Job holding `=== kpb-results <host> begin/end ===` blocks (`-`: standard input): a folder per host, one merged report')
    .action(async (dirs: string[], opts: { out?: string; collect?: string }) => {
      if (opts.collect !== undefined) {
        if (!opts.out) throw new Error('report --collect needs --out <dir> (where the host folders and the merged report go)');
        const { report, hosts } = await collectReport(readLog(opts.collect), opts.out);
        process.stdout.write(`${report}\nhosts: ${hosts.join(', ')}\n`);
        return;
      }
      if (!dirs.length) throw new Error('report: give result folders, or --collect <log> --out <dir>');
      process.stdout.write(`${await writeReport(dirs, opts.out ?? dirs[0]!)}\n`);
    });
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === new URL(import.meta.url).pathname;
if (isMain) {
  program()
    .parseAsync(process.argv)
    .catch(async (e: unknown) => {
      process.stderr.write(`kpb bench: ${e instanceof Error ? e.message : String(e)}\n`);
      await cleanupAll().catch(() => {});
      process.exit(1);
    });
}
