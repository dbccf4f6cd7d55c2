/**
 * The report, drawn only from results.json files: report.md (every figure in tables, speed-up
 * ratios, userspace vs kernel split, targets, a short reading) and SVG charts. Several result
 * folders (several hosts) merge into one comparison.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { groupedBarSpec, lineChartSpec, renderSvg, stackedBarSpec } from './charts.ts';
import type { Bar, Point } from './charts.ts';
import { validateResults } from './results.ts';
import type { ResultRow, ResultsFile } from './results.ts';

interface Source {
  readonly dir: string;
  readonly label: string;
  readonly file: ResultsFile;
}

interface Row extends ResultRow {
  readonly host: string;
}

/** Reference for speed-ups: what kube-proxy runs by default (iptables mode through iptables-nft). */
const REFERENCE = 'iptables/nft';

const OP_TEXT: Record<string, string> = {
  generate: 'model → backend output in process (compile + render; nftnl: its batch when the backend exposes a builder), tinybench',
  render: 'plan → backend output only (renderText / batch), tinybench',
  'full-sync': 'load into an empty namespace, the whole path of `kpb apply`: compile + render + kernel',
  'full-sync/userspace': 'full-sync wall time minus the kernel stage (compile, render, process overhead)',
  'full-sync/kernel': 'kernel stage of full-sync as the backend reports it (`ApplyResult.timings.kernel`: tool run or netlink batch)',
  'full-sync/userspace-share': 'userspace / full-sync, per sample',
  resync: 'full load over an existing ruleset of the same size (compile + apply)',
  'resync/userspace': 'resync wall time minus the kernel stage',
  'resync/kernel': 'kernel stage of resync',
  'incremental-1': 'one service gains or loses an endpoint in a loaded cluster: `backend.sync(target, from, to)`',
  'churn-1pct': '1% of services gain (then lose) an endpoint at once: `backend.sync`',
  verify: '`backend.verify` of the loaded plan',
  flush: '`backend.flush` of the loaded plan',
  'first-packet-first': 'TCP connect latency client → node rules → pod, to the first service port of the ruleset',
  'first-packet-last': 'the same, to the last service port of the ruleset',
  'rss-peak': 'peak RSS (VmHWM) of a child process that generates, compiles and syncs the cluster',
};
const OP_ORDER = Object.keys(OP_TEXT);

function readSource(dir: string): Source {
  const file = existsSync(dir) && statSync(dir).isFile() ? dir : path.join(dir, 'results.json');
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`kpb report: cannot read ${file}: ${(e as Error).message}`);
  }
  const problems = validateResults(data);
  if (problems.length) throw new Error(`kpb report: ${file} is not a kpb-bench/1 results file: ${problems.slice(0, 5).join('; ')}`);
  const f = data as ResultsFile;
  return { dir: path.dirname(file), label: f.environment.hostname || path.basename(path.dirname(file)), file: f };
}

function fmt(x: number | null | undefined, unit?: string): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  const s = a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toPrecision(2);
  return unit ? `${s} ${unit}` : s;
}

function cell(r: Row | undefined): string {
  if (!r) return '';
  if (r.median === null) return r.overCap ? `> cap (${r.overCap}×)` : '–';
  let s = `**${fmt(r.median)}**`;
  if (r.samples.length > 1) s += ` (p90 ${fmt(r.p90)})`;
  if (r.ci95) s += ` [${fmt(r.ci95[0])}–${fmt(r.ci95[1])}]`;
  s += ` n=${r.samples.length}`;
  if (r.overCap) s += `, ${r.overCap}× > cap`;
  return s;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function seriesOf(r: Row, multiHost: boolean): string {
  return multiHost ? `${r.host}: ${r.backend}/${r.layout}` : `${r.backend}/${r.layout}`;
}

function uniq<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

function sortVariants(a: string, b: string): number {
  const order = ['iptables/nft', 'iptables/legacy', 'iptables/noflush', 'nft/flat', 'nft/kube-proxy', 'nftnl/flat', 'nftnl/kube-proxy'];
  const ka = order.findIndex((o) => a.endsWith(o));
  const kb = order.findIndex((o) => b.endsWith(o));
  return a.split(':')[0]! === b.split(':')[0]! ? (ka === kb ? (a < b ? -1 : 1) : ka - kb) : a < b ? -1 : 1;
}

interface Target {
  readonly what: string;
  readonly series: string;
  readonly op: string;
  readonly services: number;
  readonly endpoints: number;
  readonly limit: number;
  readonly unit: string;
  /** Also: userspace share ≤ this %. */
  readonly share?: number;
}

const TARGETS: readonly Target[] = [
  { what: 'nftnl full-sync at 10k × 3 ≤ 1.25 s, userspace ≤ 25%', series: 'nftnl/flat', op: 'full-sync', services: 10_000, endpoints: 3, limit: 1250, unit: 'ms', share: 25 },
  { what: 'nftnl incremental-1 ≤ 5 ms (median), 10k × 3', series: 'nftnl/flat', op: 'incremental-1', services: 10_000, endpoints: 3, limit: 5, unit: 'ms' },
  { what: 'iptables text generate ≤ 150 ms at 10k', series: 'iptables/nft', op: 'generate', services: 10_000, endpoints: 3, limit: 150, unit: 'ms' },
  { what: 'nft script generate ≤ 150 ms at 10k', series: 'nft/flat', op: 'generate', services: 10_000, endpoints: 3, limit: 150, unit: 'ms' },
  { what: 'nftnl full sync at 100k, peak RSS ≤ 1.5 GB', series: 'nftnl/flat', op: 'rss-peak', services: 100_000, endpoints: 3, limit: 1536, unit: 'MB' },
];

export async function writeReport(dirs: readonly string[], out: string): Promise<string> {
  if (dirs.length === 0) throw new Error('kpb report: no result folder given');
  const sources = dirs.map(readSource);
  // Two folders from the same host stay apart.
  const seen = new Map<string, number>();
  const labelled = sources.map((s) => {
    const n = (seen.get(s.label) ?? 0) + 1;
    seen.set(s.label, n);
    return n > 1 ? { ...s, label: `${s.label} (${path.basename(s.dir)})` } : s;
  });
  const multiHost = labelled.length > 1;
  const rows: Row[] = labelled.flatMap((s) => s.file.results.map((r) => ({ ...r, host: s.label })));
  mkdirSync(out, { recursive: true });

  const md: string[] = [];
  md.push('# kpb bench report', '');
  md.push(
    `Drawn from ${labelled.map((s) => `\`${path.relative(out, path.join(s.dir, 'results.json')) || 'results.json'}\``).join(', ')} (schema kpb-bench/1). ` +
      'Times in ms unless marked; cells: **median** (p90) [95% CI of the median, from 6 samples] n=samples. Warm-up runs are discarded.',
    '',
  );

  // Environment.
  md.push('## Environment', '');
  md.push(
    table(
      ['', ...labelled.map((s) => s.label)],
      [
        ['date', ...labelled.map((s) => s.file.environment.date ?? '')],
        ['kernel', ...labelled.map((s) => s.file.environment.kernel)],
        ['CPU', ...labelled.map((s) => `${s.file.environment.cpuModel} × ${s.file.environment.cores}`)],
        ['memory', ...labelled.map((s) => `${s.file.environment.memoryMB} MB`)],
        [
          'load (1 min), start → end',
          ...labelled.map((s) => {
            const l = s.file.environment.loadAverage;
            if (!l) return '';
            const busy = Math.max(l.start, l.end) > s.file.environment.cores ? ' — busy machine, figures noisy' : '';
            return `${l.start} → ${l.end}${busy}`;
          }),
        ],
        ['node', ...labelled.map((s) => s.file.environment.node)],
        ['iptables', ...labelled.map((s) => s.file.environment.iptables)],
        ['nft', ...labelled.map((s) => s.file.environment.nft)],
        ['libnftnl', ...labelled.map((s) => s.file.environment.libnftnl)],
        ['commit', ...labelled.map((s) => s.file.environment.gitCommit)],
        ['kernel figures', ...labelled.map((s) => (s.file.environment.kernelFigures ? 'yes' : `no: ${s.file.environment.kernelFiguresReason ?? ''}`))],
        [
          'run',
          ...labelled.map((s) => {
            const p = s.file.parameters;
            return p
              ? `services ${p.services.join(', ')} × ${p.endpointsPerService} endpoints, ${p.repeats} repeat(s) + ${p.warmup} warm-up, seed ${p.seed}, cap ${p.capSeconds}s${p.quick ? ', --quick' : ''}, ${p.durationSeconds ?? '?'} s`
              : '';
          }),
        ],
      ],
    ),
    '',
  );

  // Backends.
  const statuses = labelled.flatMap((s) => (s.file.backends ?? []).map((b) => ({ ...b, host: s.label })));
  if (statuses.length) {
    md.push('## Backends', '');
    md.push(
      table(
        [...(multiHost ? ['host'] : []), 'backend/layout', 'status'],
        statuses.map((b) => [
          ...(multiHost ? [b.host] : []),
          `${b.backend}/${b.layout}`,
          b.available ? (b.kernelError ? `loaded; kernel figures stopped: ${b.kernelError}` : 'measured') : `unavailable: ${b.reason ?? ''}`,
        ]),
      ),
      '',
    );
  }

  const find = (series: string, op: string, services: number, eps?: number) =>
    rows.find((r) => seriesOf(r, multiHost) === series && r.operation === op && r.services === services && (eps === undefined || r.endpointsPerService === eps));

  // Targets.
  md.push('## Targets', '');
  md.push(
    table(
      ['target', ...(multiHost ? ['host'] : []), 'measured', 'verdict'],
      TARGETS.flatMap((t) =>
        labelled.map((s) => {
          const series = multiHost ? `${s.label}: ${t.series}` : t.series;
          const r = find(series, t.op, t.services, t.endpoints);
          const share = t.share !== undefined ? find(series, 'full-sync/userspace-share', t.services, t.endpoints) : undefined;
          let measured = 'not measured in this run';
          let verdict = '–';
          if (r && r.median !== null) {
            measured = `${fmt(r.median, t.unit)}${share?.median != null ? `, userspace ${fmt(share.median)}%` : ''}`;
            const ok = r.median <= t.limit && (t.share === undefined || (share?.median != null && share.median <= t.share));
            verdict = ok ? 'met' : 'NOT met';
          } else if (r?.overCap) {
            measured = 'over the time cap';
            verdict = 'NOT met';
          }
          return [t.what, ...(multiHost ? [s.label] : []), measured, verdict];
        }),
      ),
    ),
    '',
  );

  // Figures.
  const ops = uniq(rows.map((r) => r.operation)).sort((a, b) => {
    const ia = OP_ORDER.indexOf(a);
    const ib = OP_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  });
  const scalesOf = (op: string) => uniq(rows.filter((r) => r.operation === op).map((r) => `${r.services}×${r.endpointsPerService}`)).sort((a, b) => parseInt(a) - parseInt(b));
  const seriesList = (op: string) => uniq(rows.filter((r) => r.operation === op).map((r) => seriesOf(r, multiHost))).sort(sortVariants);

  md.push('## Figures', '');
  for (const op of ops) {
    const unit = rows.find((r) => r.operation === op)?.unit ?? 'ms';
    const scales = scalesOf(op);
    md.push(`### ${op} (${unit})`, '', OP_TEXT[op] ? `${OP_TEXT[op]}.` : '', '');
    md.push(
      table(
        ['backend/layout', ...scales.map((s) => `${s} svc×ep`)],
        seriesList(op).map((series) => [
          series,
          ...scales.map((sc) => {
            const [n, e] = sc.split('×').map(Number);
            return cell(find(series, op, n!, e));
          }),
        ]),
      ),
    );
    const notes = uniq(rows.filter((r) => r.operation === op && r.notes?.length).flatMap((r) => r.notes!.map((n) => `${seriesOf(r, multiHost)} @ ${r.services}: ${n}`)));
    if (notes.length) md.push('', ...notes.slice(0, 12).map((n) => `- ${n}`), ...(notes.length > 12 ? [`- … ${notes.length - 12} more in results.json`] : []));
    md.push('');
  }

  // Userspace vs kernel.
  const splitRows = rows.filter((r) => r.operation === 'full-sync');
  if (splitRows.length) {
    md.push('## Full sync: userspace vs kernel', '');
    md.push(
      table(
        ['backend/layout', 'services×ep', 'full-sync', 'userspace', 'kernel', 'userspace share'],
        splitRows
          .slice()
          .sort((a, b) => a.services - b.services || sortVariants(seriesOf(a, multiHost), seriesOf(b, multiHost)))
          .map((r) => {
            const s = seriesOf(r, multiHost);
            return [
              s,
              `${r.services}×${r.endpointsPerService}`,
              fmt(r.median),
              fmt(find(s, 'full-sync/userspace', r.services, r.endpointsPerService)?.median),
              fmt(find(s, 'full-sync/kernel', r.services, r.endpointsPerService)?.median),
              `${fmt(find(s, 'full-sync/userspace-share', r.services, r.endpointsPerService)?.median)}%`,
            ];
          }),
      ),
      '',
    );
  }

  // Speed-ups.
  const speedOps = ['generate', 'full-sync', 'resync', 'incremental-1', 'churn-1pct', 'verify', 'flush', 'first-packet-last', 'rss-peak'].filter((o) => ops.includes(o));
  const refSeries = (host: string) => (multiHost ? `${host}: ${REFERENCE}` : REFERENCE);
  const speedLines: string[][] = [];
  for (const op of speedOps) {
    for (const sc of scalesOf(op)) {
      const [n, e] = sc.split('×').map(Number);
      for (const s of labelled) {
        const ref = find(refSeries(s.label), op, n!, e);
        if (!ref?.median) continue;
        const others = seriesList(op).filter((x) => x !== refSeries(s.label) && (!multiHost || x.startsWith(`${s.label}: `)));
        const cells = others.map((x) => {
          const r = find(x, op, n!, e);
          return r?.median ? `${x.replace(`${s.label}: `, '')} ${fmt(ref.median! / r.median)}×` : '';
        });
        if (cells.some(Boolean)) speedLines.push([op, `${sc}`, ...(multiHost ? [s.label] : []), cells.filter(Boolean).join(', ')]);
      }
    }
  }
  if (speedLines.length) {
    md.push('## Speed-ups', '', `Ratio of medians: ${REFERENCE} (kube-proxy's default) ÷ the other; above 1 means faster (for rss-peak: smaller).`, '');
    md.push(table(['figure', 'services×ep', ...(multiHost ? ['host'] : []), 'vs ' + REFERENCE], speedLines), '');
  }
  // nftnl vs nft, same layout.
  const pairLines: string[][] = [];
  for (const op of speedOps) {
    for (const layout of ['flat', 'kube-proxy']) {
      for (const sc of scalesOf(op)) {
        const [n, e] = sc.split('×').map(Number);
        for (const s of labelled) {
          const pre = multiHost ? `${s.label}: ` : '';
          const a = find(`${pre}nft/${layout}`, op, n!, e);
          const b = find(`${pre}nftnl/${layout}`, op, n!, e);
          if (a?.median && b?.median) pairLines.push([op, layout, sc, ...(multiHost ? [s.label] : []), `${fmt(a.median / b.median)}×`]);
        }
      }
    }
  }
  if (pairLines.length) {
    md.push('nftnl against nft (same layout), nft ÷ nftnl:', '');
    md.push(table(['figure', 'layout', 'services×ep', ...(multiHost ? ['host'] : []), 'nftnl speed-up'], pairLines), '');
  }

  // Charts.
  const charts: [string, string, Promise<string>][] = [];
  const linePoints = (op: string): Point[] =>
    rows.filter((r) => r.operation === op && r.median !== null && r.median > 0).map((r) => ({ series: seriesOf(r, multiHost), services: r.services, value: r.median!, p90: r.p90 ?? undefined }));
  for (const [op, title] of [
    ['full-sync', 'Full sync into an empty namespace (median)'],
    ['resync', 'Full resync over a loaded ruleset (median)'],
    ['incremental-1', 'Incremental sync, one service changes (median)'],
    ['generate', 'Generation in process, compile + render (median)'],
  ] as const) {
    const pts = linePoints(op);
    if (pts.length) charts.push([`${op}.svg`, title, renderSvg(lineChartSpec(title, 'ms (log)', pts))]);
  }
  const latBars: Bar[] = rows
    .filter((r) => (r.operation === 'first-packet-first' || r.operation === 'first-packet-last') && r.median !== null)
    .map((r) => ({ series: seriesOf(r, multiHost), group: r.operation === 'first-packet-first' ? 'first service' : 'last service', facet: `${r.services} services`, value: r.median! }));
  if (latBars.length) charts.push(['first-packet.svg', 'First-packet latency (TCP connect, median)', renderSvg(groupedBarSpec('First-packet latency: first vs last service (median)', 'µs', 'service', latBars))]);
  const splitBars: Bar[] = rows
    .filter((r) => r.operation === 'full-sync/userspace' || r.operation === 'full-sync/kernel')
    .filter((r) => r.median !== null)
    .map((r) => ({ series: seriesOf(r, multiHost), group: r.operation.endsWith('kernel') ? 'kernel' : 'userspace', facet: `${r.services} services`, value: r.median! }));
  if (splitBars.length) charts.push(['full-sync-split.svg', 'Full sync, userspace vs kernel', renderSvg(stackedBarSpec('Full sync: userspace vs kernel (medians)', 'ms', splitBars))]);

  if (charts.length) {
    md.push('## Charts', '');
    for (const [name, title, svg] of charts) {
      writeFileSync(path.join(out, name), await svg);
      md.push(`![${title}](${name})`, '');
    }
  }

  // Reading.
  md.push('## Reading', '');
  md.push(...reading(rows, multiHost), '');

  const file = path.join(out, 'report.md');
  writeFileSync(file, `${md.join('\n').replace(/\n{3,}/g, '\n\n').trim()}\n`);
  return file;
}

/** A few sentences drawn from the numbers: who is fastest where, how first and last packets compare. */
function reading(rows: readonly Row[], multiHost: boolean): string[] {
  const out: string[] = [];
  for (const op of ['full-sync', 'resync', 'incremental-1', 'generate', 'rss-peak']) {
    const at = rows.filter((r) => r.operation === op && r.median !== null);
    if (!at.length) continue;
    const top = Math.max(...at.map((r) => r.services));
    const ranked = at.filter((r) => r.services === top).sort((a, b) => a.median! - b.median!);
    if (ranked.length < 2) continue;
    const best = ranked[0]!;
    const worst = ranked[ranked.length - 1]!;
    const unit = best.unit;
    out.push(
      `- **${op}** at ${top} services: ${seriesOf(best, multiHost)} ${op === 'rss-peak' ? 'uses least' : 'is fastest'} (${fmt(best.median, unit)}), ` +
        `${seriesOf(worst, multiHost)} ${op === 'rss-peak' ? 'most' : 'slowest'} (${fmt(worst.median, unit)}, ${fmt(worst.median! / best.median!)}×).`,
    );
  }
  const firsts = rows.filter((r) => r.operation === 'first-packet-first' && r.median !== null);
  const lat: string[] = [];
  for (const f of firsts) {
    const l = rows.find((r) => r.operation === 'first-packet-last' && r.host === f.host && r.backend === f.backend && r.layout === f.layout && r.services === f.services && r.median !== null);
    if (l) lat.push(`${seriesOf(f, multiHost)} @ ${f.services}: ${fmt(f.median, 'µs')} → ${fmt(l.median, 'µs')} (${fmt(l.median! / f.median!)}×)`);
  }
  if (lat.length) out.push(`- **first packet**, first → last service: ${lat.join('; ')}. A linear rule walk (iptables KUBE-SERVICES) grows with the position of the service; map lookups (nft) should not.`);
  const over = rows.filter((r) => r.overCap);
  if (over.length) out.push(`- ${over.length} figure(s) have samples over the time cap (see the tables).`);
  if (!out.length) out.push('- Not enough figures to compare.');
  return out;
}
