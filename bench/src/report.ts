/**
 * The report, drawn only from results.json files: report.md (every figure in tables, speed-up
 * ratios, userspace vs kernel split, targets, a short reading) and SVG charts. Several result
 * folders (several hosts) merge into one comparison.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { growthChartSpec, groupedBarSpec, lineChartSpec, renderSvg, stackedBarSpec } from './charts.ts';
import type { Bar, Facets, FitLine, Point } from './charts.ts';
import { growthExponent, isWide, WIDE_LIMIT } from './growth.ts';
import type { Growth } from './growth.ts';
import { indexHtml } from './html.ts';
import type { HtmlChart } from './html.ts';
import { VARIANTS, variantId } from './backends.ts';
import { FIGURES, type FigureId } from './figures.ts';
import { familyModeOf, validateResults } from './results.ts';
import type { FamilyMode, ResultRow, ResultsFile } from './results.ts';

interface Source {
  readonly dir: string;
  readonly label: string;
  readonly file: ResultsFile;
}

interface Row extends ResultRow {
  readonly host: string;
  /** The family mode of the run the row comes from (files without one: ipv4). */
  readonly family: FamilyMode;
  /** The kernel release of the run's host (index.html filters by it). */
  readonly kernel: string;
  /** CPU cores of the run's host: a load above it means samples queued for the CPU. */
  readonly cores: number;
}

/** A column of a figure's table: a cluster size in a family mode. */
interface Scale {
  readonly services: number;
  readonly endpoints: number;
  readonly family: FamilyMode;
}

const FAMILY_ORDER: readonly FamilyMode[] = ['ipv4', 'dual', 'ipv6'];
const FAMILY_TEXT: Readonly<Record<FamilyMode, string>> = {
  ipv4: 'ipv4 (IPv4 only)',
  ipv6: 'ipv6 (IPv6 only; no first-packet figures)',
  dual: 'dual (dual-stack: an IPv4 and an IPv6 plan in every figure; first-packet figures through IPv4)',
};

/** `services×endpoints`, with the family mode when it is not ipv4: `10000×3, dual`. */
function scaleText(services: number, endpoints: number, family: FamilyMode): string {
  return `${services}×${endpoints}${family === 'ipv4' ? '' : `, ${family}`}`;
}

const rowScale = (r: Row): string => scaleText(r.services, r.endpointsPerService, r.family);

/** The row's family mode after its size where it is not ipv4: `, dual`. */
const familySuffix = (r: Row): string => (r.family === 'ipv4' ? '' : `, ${r.family}`);

/** Reference for speed-ups: what kube-proxy runs by default (iptables mode through iptables-nft). */
const REFERENCE = 'iptables/nft';

const OP_TEXT: ReadonlyMap<string, string> = new Map(FIGURES.map((f) => [f.id, f.about]));
const OP_ORDER: readonly string[] = FIGURES.map((f) => f.id);

function readSource(dir: string): Source {
  const file = existsSync(dir) && statSync(dir).isFile() ? dir : path.join(dir, 'results.json');
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`kpb report: cannot read ${file}: ${(e as Error).message}`, { cause: e });
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

/** A figure whose kpb share (its userspace part) is over this many percent is flagged. */
const SHARE_LIMIT = 20;
const FLAG = '⚑';
const FLAG_TEXT =
  `${FLAG}: kpb's own userspace (compile, render, encode, decoding and comparing a read-back, process start-up) is over ${SHARE_LIMIT}% ` +
  'of the figure (median of its userspace share): the figure says more about kpb than about the tool or kernel it is meant to measure.';

const WIDE = '‡';
const WIDE_TEXT = `${WIDE}: the 95% CI of the median reaches beyond ±${WIDE_LIMIT * 100}% of the median: a noisy figure, read it with care (cells under 6 samples have no CI and are not judged).`;

const BUSY = '§';
const BUSY_TEXT =
  `${BUSY}: the 1-minute load average was above twice the host's cores before or after at least one visit that took the cell's samples ` +
  '(recorded per visit in results.json, `load`). The bench itself keeps about one task per core runnable (kpb, and the tool, kernel work or agents it waits on), ' +
  'so only a load past twice the cores says that samples queued behind other work (another program, or the 1-minute average still carrying an earlier long kernel stall). Nothing was discarded.';

/** Whether a visit of the row ran with more runnable work than the bench itself makes (about one task per core). */
const busy = (r: Row): boolean => (r.load ?? []).some(([before, after]) => Math.max(before, after) > 2 * r.cores);

function cell(r: Row | undefined, share?: number): string {
  if (!r) return '';
  if (r.median === null) return r.overCap ? `> cap (${r.overCap}×)` : r.fullApplies ? `${r.fullApplies}× full apply, no sample` : '–';
  let s = `**${fmt(r.median)}**`;
  if (r.samples.length > 1) s += ` (p90 ${fmt(r.p90)})`;
  if (r.ci95) s += ` [${fmt(r.ci95[0])}–${fmt(r.ci95[1])}]${isWide(r.median, r.ci95) ? ` ${WIDE}` : ''}`;
  s += ` n=${r.samples.length}`;
  if (r.overCap) s += `, ${r.overCap}× > cap`;
  if (r.fullApplies) s += `, ${r.fullApplies}× full apply`;
  if (share !== undefined && share > SHARE_LIMIT) s += ` ${FLAG} kpb ${fmt(share)}%`;
  if (busy(r)) s += ` ${BUSY}`;
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
  return multiHost ? `${r.host}: ${variantId(r)}` : variantId(r);
}

function uniq<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

/** Series in registry order (host first when several hosts are merged); unknown ids last, by name. */
function sortVariants(a: string, b: string): number {
  const rank = (s: string): number => {
    const i = VARIANTS.findIndex((v) => s.endsWith(v.id));
    return i < 0 ? VARIANTS.length : i;
  };
  const ka = rank(a);
  const kb = rank(b);
  return a.split(':')[0]! === b.split(':')[0]! ? (ka === kb ? (a < b ? -1 : 1) : ka - kb) : a < b ? -1 : 1;
}

interface Target {
  readonly what: string;
  /** The series judged; `every` (a backend-independent figure measured in each backend's round): the slowest round's median. */
  readonly series: string;
  readonly op: FigureId;
  readonly services: number;
  readonly endpoints: number;
  /** The limit in `unit`; with `relativeTo`, `factor × that figure's median + plus` instead. */
  readonly limit?: number;
  readonly relativeTo?: { readonly op: FigureId; readonly factor?: number; readonly plus?: number };
  readonly unit: string;
  /** Also: the figure's userspace share ≤ this %. */
  readonly share?: number;
}

const at10k = { services: 10_000, endpoints: 3 } as const;

/** Issue #11's bars (every figure about the backend, kpb's own part small) and issue #13's (layout maps). */
const TARGETS: readonly Target[] = [
  { what: 'nftnl verify ≤ 0.6 s', series: 'nftnl/flat', op: 'verify', ...at10k, limit: 600, unit: 'ms' },
  { what: 'nft verify ≤ 1.3 × `nft list table` alone', series: 'nft/flat', op: 'verify', ...at10k, relativeTo: { op: 'verify/tool', factor: 1.3 }, unit: 'ms' },
  { what: 'iptables-nft verify ≤ 1.3 × iptables-nft-save alone', series: 'iptables/nft', op: 'verify', ...at10k, relativeTo: { op: 'verify/tool', factor: 1.3 }, unit: 'ms' },
  { what: 'iptables-legacy verify ≤ 1.3 × iptables-legacy-save alone', series: 'iptables/legacy', op: 'verify', ...at10k, relativeTo: { op: 'verify/tool', factor: 1.3 }, unit: 'ms' },
  { what: 'nft incremental-1 ≤ 300 ms', series: 'nft/flat', op: 'incremental-1', ...at10k, limit: 300, unit: 'ms' },
  { what: 'iptables-nft incremental-1 ≤ 1.5 s', series: 'iptables/nft', op: 'incremental-1', ...at10k, limit: 1500, unit: 'ms' },
  { what: "nftnl incremental-1 ≤ the kernel's commit time + 5 ms", series: 'nftnl/flat', op: 'incremental-1', ...at10k, relativeTo: { op: 'incremental-1/kernel', plus: 5 }, unit: 'ms' },
  { what: 'nftnl full-sync userspace ≤ 20%', series: 'nftnl/flat', op: 'full-sync', ...at10k, unit: 'ms', share: 20 },
  { what: 'compile (cluster → plan) ≤ 100 ms, in every round', series: 'every', op: 'compile', ...at10k, limit: 100, unit: 'ms' },
  { what: 'parsing a kubectl JSON List ≤ 300 ms, in every round', series: 'every', op: 'parse-kubectl', ...at10k, limit: 300, unit: 'ms' },
  { what: 'nft script generate ≤ 150 ms', series: 'nft/flat', op: 'generate', ...at10k, limit: 150, unit: 'ms' },
  { what: 'nftnl batch generate ≤ 150 ms', series: 'nftnl/flat', op: 'generate', ...at10k, limit: 150, unit: 'ms' },
  { what: 'iptables-restore text generate ≤ 250 ms', series: 'iptables/nft', op: 'generate', ...at10k, limit: 250, unit: 'ms' },
  { what: 'nftnl full sync at 100k, peak RSS ≤ 1.2 GB', series: 'nftnl/flat', op: 'rss-peak', services: 100_000, endpoints: 3, limit: 1200, unit: 'MB' },
  // Issue #13's targets for layout maps.
  { what: 'nftnl/maps full sync ≤ 0.3 s', series: 'nftnl/maps', op: 'full-sync', ...at10k, limit: 300, unit: 'ms' },
  { what: 'nft/maps full sync ≤ 1 s', series: 'nft/maps', op: 'full-sync', ...at10k, limit: 1000, unit: 'ms' },
  { what: 'nftnl/maps incremental-1 ≤ 5 ms', series: 'nftnl/maps', op: 'incremental-1', ...at10k, limit: 5, unit: 'ms' },
  { what: 'nft/maps incremental-1 ≤ 150 ms', series: 'nft/maps', op: 'incremental-1', ...at10k, limit: 150, unit: 'ms' },
  { what: 'nftnl/maps churn of 1% ≤ 20 ms', series: 'nftnl/maps', op: 'churn-1pct', ...at10k, limit: 20, unit: 'ms' },
  { what: 'nftnl/maps first packet to the last service ≤ 1.1 × to the first', series: 'nftnl/maps', op: 'first-packet-last', ...at10k, relativeTo: { op: 'first-packet-first', factor: 1.1 }, unit: 'us' },
  { what: 'nftnl/maps full sync at 100k ≤ 3 s', series: 'nftnl/maps', op: 'full-sync', services: 100_000, endpoints: 3, limit: 3000, unit: 'ms' },
  { what: 'nftnl/maps full sync at 100k, peak RSS ≤ 800 MB', series: 'nftnl/maps', op: 'rss-peak', services: 100_000, endpoints: 3, limit: 800, unit: 'MB' },
];

/** What every section reads: the rows of every source, labelled by host when there are several. */
class ReportData {
  readonly multiHost: boolean;
  readonly rows: Row[];
  readonly ops: string[];

  constructor(readonly labelled: readonly Source[]) {
    this.multiHost = labelled.length > 1;
    this.rows = labelled.flatMap((s) => s.file.results.map((r) => ({ ...r, host: s.label, family: familyModeOf(s.file), kernel: s.file.environment.kernel, cores: s.file.environment.cores })));
    this.ops = uniq(this.rows.map((r) => r.operation)).sort((a, b) => {
      const ia = OP_ORDER.indexOf(a);
      const ib = OP_ORDER.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    });
  }

  series(r: Row): string {
    return seriesOf(r, this.multiHost);
  }

  /** The row of a series, figure and size (and family mode, when given: a series holds one run's rows, so one mode). */
  find(series: string, op: string, services: number, eps?: number, family?: FamilyMode): Row | undefined {
    return this.rows.find(
      (r) =>
        this.series(r) === series &&
        r.operation === op &&
        r.services === services &&
        (eps === undefined || r.endpointsPerService === eps) &&
        (family === undefined || r.family === family),
    );
  }

  /**
   * kpb's share of a figure in %: the median of its `/userspace-share` samples, or (files
   * without that row) userspace ÷ the figure from the medians; undefined when not split.
   */
  share(series: string, op: string, services: number, eps: number): number | undefined {
    const median = (part: string) => this.find(series, `${op}/${part}`, services, eps)?.median ?? undefined;
    const share = median('userspace-share');
    if (share !== undefined) return share;
    const whole = this.find(series, op, services, eps)?.median;
    const userspace = median('userspace');
    return whole && userspace !== undefined ? (100 * userspace) / whole : undefined;
  }

  /** The scales (size and family mode) measured for a figure, smallest first, ipv4 before dual before ipv6. */
  scalesOf(op: string): Scale[] {
    const seen = new Map<string, Scale>();
    for (const r of this.rows) if (r.operation === op) seen.set(rowScale(r), { services: r.services, endpoints: r.endpointsPerService, family: r.family });
    return [...seen.values()].sort((a, b) => a.services - b.services || a.endpoints - b.endpoints || FAMILY_ORDER.indexOf(a.family) - FAMILY_ORDER.indexOf(b.family));
  }

  /** The family modes of the rows, in FAMILY_ORDER. */
  families(): FamilyMode[] {
    return FAMILY_ORDER.filter((f) => this.rows.some((r) => r.family === f));
  }

  seriesList(op: string): string[] {
    return uniq(this.rows.filter((r) => r.operation === op).map((r) => this.series(r))).sort(sortVariants);
  }

  /** The series prefix of a host's rows (empty with one host). */
  prefix(s: Source): string {
    return this.multiHost ? `${s.label}: ` : '';
  }
}

/** Sources labelled by host; two folders from the same host stay apart. */
function labelSources(sources: readonly Source[]): Source[] {
  const seen = new Map<string, number>();
  return sources.map((s) => {
    const n = (seen.get(s.label) ?? 0) + 1;
    seen.set(s.label, n);
    return n > 1 ? { ...s, label: `${s.label} (${path.basename(s.dir)})` } : s;
  });
}

function runText(s: Source): string {
  const p = s.file.parameters;
  return p
    ? `services ${p.services.join(', ')} × ${p.endpointsPerService} endpoints, ${familyModeOf(s.file)}, ${p.repeats} repeat(s)${p.repeatsAbove10k ? ` (${p.repeatsAbove10k} above 10k)` : ''} + ${p.warmup} warm-up, seed ${p.seed}, cap ${p.capSeconds}s${p.quick ? ', --quick' : ''}, ${p.durationSeconds ?? '?'} s`
    : '';
}

function loadText(s: Source): string {
  const l = s.file.environment.loadAverage;
  if (!l) return '';
  const busy = Math.max(l.start, l.end) > s.file.environment.cores ? ' — busy machine, figures noisy' : '';
  return `${l.start} → ${l.end}${busy}`;
}

function environmentSection(d: ReportData): string[] {
  const each = (f: (s: Source) => string) => d.labelled.map(f);
  const env = (s: Source) => s.file.environment;
  return [
    '## Environment',
    '',
    table(
      ['', ...each((s) => s.label)],
      [
        ['date', ...each((s) => env(s).date ?? '')],
        ['kernel', ...each((s) => env(s).kernel)],
        ['CPU', ...each((s) => `${env(s).cpuModel} × ${env(s).cores}`)],
        ['memory', ...each((s) => `${env(s).memoryMB} MB`)],
        ['load (1 min), start → end', ...each(loadText)],
        ['node', ...each((s) => env(s).node)],
        ['iptables', ...each((s) => env(s).iptables)],
        ['nft', ...each((s) => env(s).nft)],
        ['libnftnl', ...each((s) => env(s).libnftnl)],
        ['commit', ...each((s) => env(s).gitCommit)],
        ['kernel figures', ...each((s) => (env(s).kernelFigures ? 'yes' : `no: ${env(s).kernelFiguresReason ?? ''}`))],
        ['IP families (`--family`)', ...each((s) => FAMILY_TEXT[familyModeOf(s.file)])],
        ['run', ...each(runText)],
      ],
    ),
    '',
  ];
}

function backendsSection(d: ReportData): string[] {
  const statuses = d.labelled.flatMap((s) => (s.file.backends ?? []).map((b) => ({ ...b, host: s.label })));
  if (!statuses.length) return [];
  const rows = statuses.map((b) => [
    ...(d.multiHost ? [b.host] : []),
    variantId(b),
    b.available ? (b.kernelError ? `loaded; kernel figures stopped: ${b.kernelError}` : 'measured') : `unavailable: ${b.reason ?? ''}`,
  ]);
  return ['## Backends', '', table([...(d.multiHost ? ['host'] : []), 'backend/layout', 'status'], rows), ''];
}

/** A target's limit in this source: fixed, or relative to another figure measured beside it. */
function targetLimit(d: ReportData, t: Target, series: string): number | undefined {
  if (!t.relativeTo) return t.limit;
  const base = d.find(series, t.relativeTo.op, t.services, t.endpoints)?.median;
  return base == null ? undefined : (t.relativeTo.factor ?? 1) * base + (t.relativeTo.plus ?? 0);
}

/** The series a target judges in this source: for `every`, the one whose median is largest. */
function targetSeries(d: ReportData, t: Target, s: Source): string {
  if (t.series !== 'every') return `${d.prefix(s)}${t.series}`;
  const own = d.seriesList(t.op).filter((x) => x.startsWith(d.prefix(s)));
  const median = (x: string) => d.find(x, t.op, t.services, t.endpoints)?.median ?? -1;
  return own.reduce((worst, x) => (median(x) > median(worst) ? x : worst), own[0] ?? '');
}

function targetRow(d: ReportData, t: Target, s: Source): string[] {
  const series = targetSeries(d, t, s);
  const r = d.find(series, t.op, t.services, t.endpoints);
  const share = t.share !== undefined ? d.find(series, `${t.op}/userspace-share`, t.services, t.endpoints) : undefined;
  const limit = targetLimit(d, t, series);
  let measured = 'not measured in this run';
  let verdict = '–';
  if (r && r.median !== null) {
    const against = t.relativeTo && limit !== undefined ? ` (limit ${fmt(limit, t.unit)})` : '';
    const round = t.series === 'every' ? ` (slowest round: ${series.slice(d.prefix(s).length)})` : '';
    const family = r.family === 'ipv4' ? '' : ` (${r.family} cluster)`;
    measured = `${fmt(r.median, t.unit)}${against}${round}${share?.median != null ? `, userspace ${fmt(share.median)}%` : ''}${family}`;
    const withinLimit = t.limit === undefined && !t.relativeTo ? true : limit !== undefined && r.median <= limit;
    const ok = withinLimit && (t.share === undefined || (share?.median != null && share.median <= t.share));
    verdict = ok ? 'met' : 'NOT met';
  } else if (r?.overCap) {
    measured = 'over the time cap';
    verdict = 'NOT met';
  }
  return [t.what, ...(d.multiHost ? [s.label] : []), measured, verdict];
}

function targetsSection(d: ReportData): string[] {
  const rows = TARGETS.flatMap((t) => d.labelled.map((s) => targetRow(d, t, s)));
  return ['## Targets', '', table(['target', ...(d.multiHost ? ['host'] : []), 'measured', 'verdict'], rows), ''];
}

function figureSection(d: ReportData, op: string): string[] {
  const unit = d.rows.find((r) => r.operation === op)?.unit ?? 'ms';
  const scales = d.scalesOf(op);
  const about = OP_TEXT.get(op);
  const rows = d.seriesList(op).map((series) => [series, ...scales.map((sc) => cell(d.find(series, op, sc.services, sc.endpoints, sc.family), d.share(series, op, sc.services, sc.endpoints)))]);
  const families = uniq(scales.map((sc) => sc.family)).filter((f) => f !== 'ipv4');
  const heading = `### ${op} (${unit}${families.length ? `; ${families.join(', ')}` : ''})`;
  const header = ['backend/layout', ...scales.map((sc) => `${sc.services}×${sc.endpoints} svc×ep${sc.family === 'ipv4' ? '' : `, ${sc.family}`}`)];
  const out = [heading, '', about ? `${about}.` : '', '', table(header, rows)];
  const notes = uniq(d.rows.filter((r) => r.operation === op && r.notes?.length).flatMap((r) => r.notes!.map((n) => `${d.series(r)} @ ${r.services}${familySuffix(r)}: ${n}`)));
  if (notes.length) out.push('', ...notes.slice(0, 12).map((n) => `- ${n}`), ...(notes.length > 12 ? [`- … ${notes.length - 12} more in results.json`] : []));
  out.push('');
  return out;
}

/** Kernel figures split into kpb's userspace and the tool or kernel part. */
const SPLIT_FIGURES: readonly FigureId[] = ['full-sync', 'resync', 'incremental-1', 'churn-1pct', 'verify', 'drift-check'];

/** The parts of a split figure: shown in the split table, not in a section of their own. */
const isSplitPart = (op: string): boolean => /\/(userspace|kernel|userspace-share)$/.test(op);

function splitSection(d: ReportData): string[] {
  const rows: string[][] = [];
  for (const op of SPLIT_FIGURES) {
    for (const r of d.rows.filter((x) => x.operation === op).sort((a, b) => a.services - b.services || sortVariants(d.series(a), d.series(b)))) {
      const s = d.series(r);
      const part = (p: string) => d.find(s, `${op}/${p}`, r.services, r.endpointsPerService)?.median;
      const share = d.share(s, op, r.services, r.endpointsPerService);
      if (share === undefined) continue;
      const flag = share > SHARE_LIMIT ? FLAG : '';
      rows.push([op, s, rowScale(r), fmt(r.median), fmt(part('userspace')), fmt(part('kernel')), `${fmt(share)}%`, flag]);
    }
  }
  if (!rows.length) return [];
  return [
    '## kpb userspace vs tool/kernel',
    '',
    "Medians, ms. kernel/tool: the kernel stage a sync reports (`timings.kernel`: tool run or netlink batch); for verify and drift-check the listing alone (verify/kernel). userspace: the rest, kpb's own work. " +
      FLAG_TEXT,
    '',
    table(['figure', 'backend/layout', 'services×ep', 'median', 'userspace', 'kernel/tool', 'kpb share', ''], rows),
    '',
  ];
}

/** verify and the drift check beside the listing tool alone, measured in the same rounds. */
function readBackSection(d: ReportData): string[] {
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a && b ? `${fmt(a / b)}×` : '–');
  const rows = d.rows
    .filter((r) => r.operation === 'verify/tool')
    .sort((a, b) => a.services - b.services || sortVariants(d.series(a), d.series(b)))
    .map((tool) => {
      const s = d.series(tool);
      const at = (op: FigureId) => d.find(s, op, tool.services, tool.endpointsPerService)?.median;
      const verify = at('verify');
      const addon = at('verify/addon');
      const drift = at('drift-check');
      // Several families: verify reads them at once (verify/kernel), a sync one after the other (drift-check/kernel).
      const listing = tool.family === 'ipv4' ? at('verify/kernel') : (at('drift-check/kernel') ?? at('verify/kernel'));
      return [s, rowScale(tool), fmt(verify), fmt(tool.median), ratio(verify, tool.median), fmt(addon), ratio(verify, addon), fmt(drift), ratio(drift, listing)];
    });
  if (!rows.length) return [];
  return [
    '## Read-back against the listing tool alone',
    '',
    'Medians, ms. tool: `nft list table ip kube-proxy` (nft, nftnl) or `iptables-nft-save` / `iptables-legacy-save`, run alone in the same round; ' +
      "addon: the addon's `listRuleset` alone (what nftnl reads with); drift-check ÷ listing: against the listing the backend reads with (addon for nftnl, the tool for the others)." +
      (d.families().some((f) => f !== 'ipv4')
        ? ' Rows of several families (dual): tool and addon are each family alone, one after the other, summed (a sync reads them so); verify reads the families at once, so it can take less than their sum.'
        : ''),
    '',
    table(['backend/layout', 'services×ep', 'verify', 'tool', 'verify ÷ tool', 'addon', 'verify ÷ addon', 'drift-check', 'drift-check ÷ listing'], rows),
    '',
  ];
}

/** Figures compared across variants in the speed-up tables. */
const SPEED_FIGURES: readonly FigureId[] = ['generate', 'full-sync', 'resync', 'incremental-1', 'churn-1pct', 'verify', 'drift-check', 'flush', 'first-packet-last', 'rss-peak'];

function speedupLines(d: ReportData, op: string, sc: Scale): string[][] {
  const lines: string[][] = [];
  for (const s of d.labelled) {
    const refSeries = `${d.prefix(s)}${REFERENCE}`;
    const ref = d.find(refSeries, op, sc.services, sc.endpoints, sc.family);
    if (!ref?.median) continue;
    const others = d.seriesList(op).filter((x) => x !== refSeries && (!d.multiHost || x.startsWith(`${s.label}: `)));
    const cells = others.map((x) => {
      const r = d.find(x, op, sc.services, sc.endpoints, sc.family);
      return r?.median ? `${x.replace(`${s.label}: `, '')} ${fmt(ref.median! / r.median)}×` : '';
    });
    if (cells.some(Boolean)) lines.push([op, scaleText(sc.services, sc.endpoints, sc.family), ...(d.multiHost ? [s.label] : []), cells.filter(Boolean).join(', ')]);
  }
  return lines;
}

function speedupSection(d: ReportData): string[] {
  const speedOps = SPEED_FIGURES.filter((o) => d.ops.includes(o));
  const lines = speedOps.flatMap((op) => d.scalesOf(op).flatMap((sc) => speedupLines(d, op, sc)));
  if (!lines.length) return [];
  return [
    '## Speed-ups',
    '',
    `Ratio of medians: ${REFERENCE} (kube-proxy's default) ÷ the other; above 1 means faster (for rss-peak: smaller).`,
    '',
    table(['figure', 'services×ep', ...(d.multiHost ? ['host'] : []), 'vs ' + REFERENCE], lines),
    '',
  ];
}

/** nftnl against nft, same layout. */
function pairSection(d: ReportData): string[] {
  const lines: string[][] = [];
  for (const op of SPEED_FIGURES.filter((o) => d.ops.includes(o))) {
    for (const layout of ['flat', 'kube-proxy']) {
      for (const sc of d.scalesOf(op)) {
        for (const s of d.labelled) {
          const a = d.find(`${d.prefix(s)}nft/${layout}`, op, sc.services, sc.endpoints, sc.family);
          const b = d.find(`${d.prefix(s)}nftnl/${layout}`, op, sc.services, sc.endpoints, sc.family);
          if (a?.median && b?.median) lines.push([op, layout, scaleText(sc.services, sc.endpoints, sc.family), ...(d.multiHost ? [s.label] : []), `${fmt(a.median / b.median)}×`]);
        }
      }
    }
  }
  if (!lines.length) return [];
  return ['nftnl against nft (same layout), nft ÷ nftnl:', '', table(['figure', 'layout', 'services×ep', ...(d.multiHost ? ['host'] : []), 'nftnl speed-up'], lines), ''];
}

const LINE_CHARTS: readonly (readonly [FigureId, string])[] = [
  ['full-sync', 'Full sync into an empty namespace (median)'],
  ['resync', 'Full resync over a loaded ruleset (median)'],
  ['incremental-1', 'Incremental sync, one service changes (median)'],
  ['generate', 'Generation in process, compile + render (median)'],
];

/** A chart datum's filter fields (index.html): the host, its kernel, the variant. */
const facetsOf = (r: Row): Facets => ({ host: r.host, kernel: r.kernel, variant: variantId(r) });

/** A series of a chart is one run's: its family mode named where it is not ipv4. */
const chartSeries = (d: ReportData, r: Row): string => `${d.series(r)}${r.family === 'ipv4' ? '' : ` (${r.family})`}`;

/** The charts to draw: file name, title, vega-lite spec (the SVGs and index.html draw the same specs). */
function charts(d: ReportData): HtmlChart[] {
  const out: HtmlChart[] = [];
  const measured = d.rows.filter((r) => r.median !== null);
  const series = (r: Row) => chartSeries(d, r);
  for (const [op, title] of LINE_CHARTS) {
    const pts: Point[] = measured.filter((r) => r.operation === op && r.median! > 0).map((r) => ({ series: series(r), services: r.services, value: r.median!, p90: r.p90 ?? undefined, ...facetsOf(r) }));
    if (pts.length) out.push({ name: `${op}.svg`, title, spec: lineChartSpec(title, 'ms (log)', pts) });
  }
  const latBars: Bar[] = measured
    .filter((r) => r.operation === 'first-packet-first' || r.operation === 'first-packet-last')
    .map((r) => ({ series: series(r), group: r.operation === 'first-packet-first' ? 'first service' : 'last service', facet: `${r.services} services${familySuffix(r)}`, value: r.median!, ...facetsOf(r) }));
  if (latBars.length) out.push({ name: 'first-packet.svg', title: 'First-packet latency (TCP connect, median)', spec: groupedBarSpec('First-packet latency: first vs last service (median)', 'µs', 'service', latBars) });
  const splitBars: Bar[] = measured
    .filter((r) => r.operation === 'full-sync/userspace' || r.operation === 'full-sync/kernel')
    .map((r) => ({ series: series(r), group: r.operation.endsWith('kernel') ? 'kernel' : 'userspace', facet: `${r.services} services${familySuffix(r)}`, value: r.median!, ...facetsOf(r) }));
  if (splitBars.length) out.push({ name: 'full-sync-split.svg', title: 'Full sync, userspace vs kernel', spec: stackedBarSpec('Full sync: userspace vs kernel (medians)', 'ms', splitBars) });
  return [...out, ...growthCharts(d)];
}

/** One fit per series, figure, family and endpoint count, over every kept sample of its sizes. */
interface GrowthFit {
  readonly op: string;
  readonly rows: readonly Row[];
  readonly growth: Growth;
}

function growthFits(d: ReportData): GrowthFit[] {
  const groups = new Map<string, Row[]>();
  for (const r of d.rows) {
    if (isSplitPart(r.operation) || r.unit === '%' || !r.samples.length) continue;
    const key = [r.operation, chartSeries(d, r), r.endpointsPerService].join('\0');
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const fits: GrowthFit[] = [];
  for (const rows of groups.values()) {
    const growth = growthExponent(rows.flatMap((r) => r.samples.map((value) => ({ services: r.services, value }))));
    if (growth) fits.push({ op: rows[0]!.operation, rows, growth });
  }
  const opRank = (op: string) => (d.ops.indexOf(op) < 0 ? 99 : d.ops.indexOf(op));
  return fits.sort((a, b) => opRank(a.op) - opRank(b.op) || sortVariants(d.series(a.rows[0]!), d.series(b.rows[0]!)));
}

/** Log–log charts of the line-chart figures with each series' fitted power law. */
function growthCharts(d: ReportData): HtmlChart[] {
  const fits = growthFits(d);
  const out: HtmlChart[] = [];
  for (const [op] of LINE_CHARTS) {
    const mine = fits.filter((f) => f.op === op);
    if (!mine.length) continue;
    const points: Point[] = mine.flatMap((f) => f.rows.filter((r) => r.median! > 0).map((r) => ({ series: chartSeries(d, r), services: r.services, value: r.median!, ...facetsOf(r) })));
    const lines: FitLine[] = mine.flatMap((f) => {
      const sizes = f.rows.map((r) => r.services);
      return [Math.min(...sizes), Math.max(...sizes)].map((n) => ({ series: chartSeries(d, f.rows[0]!), services: n, fitted: f.growth.scale * n ** f.growth.k, ...facetsOf(f.rows[0]!) }));
    });
    const title = `${op}: growth with the number of services (medians, fitted n^k)`;
    out.push({ name: `growth-${op}.svg`, title, spec: growthChartSpec(title, `${mine[0]!.rows[0]!.unit} (log)`, points, lines) });
  }
  return out;
}

/** The smallest size at which a fit's series went over the cap with no sample (where its line stops), or ''. */
function stoppedAt(d: ReportData, op: string, r: Row): string {
  const over = d.rows.filter((x) => x.operation === op && chartSeries(d, x) === chartSeries(d, r) && x.endpointsPerService === r.endpointsPerService && x.median === null && x.overCap);
  return over.length ? `over the cap from ${Math.min(...over.map((x) => x.services))}` : '';
}

/** The "grows like n^k" table: header and rows (report.md and index.html show the same). */
function growthTable(d: ReportData): { header: string[]; rows: string[][] } {
  const rows = growthFits(d).map(({ op, rows: rs, growth: g }) => [
    op,
    chartSeries(d, rs[0]!),
    uniq(rs.map((r) => r.services)).sort((a, b) => a - b).join(', '),
    `n^${g.k.toFixed(2)}`,
    g.ci95 ? `${g.ci95[0].toFixed(2)} – ${g.ci95[1].toFixed(2)}` : '– (too few samples)',
    String(g.n),
    stoppedAt(d, op, rs[0]!),
  ]);
  return { header: ['figure', 'backend/layout', 'services', 'grows like', 'k, 95% interval', 'samples', 'stopped'], rows };
}

function growthSection(d: ReportData): string[] {
  const { header, rows } = growthTable(d);
  if (!rows.length) return [];
  return [
    '## Growth: grows like n^k',
    '',
    'k: the slope of a least-squares fit of log(time) against log(services) over every kept sample of the sizes measured ' +
      '(1: linear in the number of services, 2: quadratic, 0: flat); the 95% interval is from the t distribution of the slope. ' +
      'Two sizes fit a line through two clouds of samples: read k as a rough guide there.',
    '',
    table(header, rows),
    '',
  ];
}

async function chartsSection(out: string, drawn: readonly HtmlChart[]): Promise<string[]> {
  if (!drawn.length) return [];
  const md = ['## Charts', ''];
  const svgs = drawn.map((c) => renderSvg(c.spec));
  for (const [i, c] of drawn.entries()) {
    writeFileSync(path.join(out, c.name), await svgs[i]!);
    md.push(`![${c.title}](${c.name})`, '');
  }
  return md;
}

/** What a report of runs that are not all IPv4 says up front: the family mode of each run, where the tables name it. */
function familyLines(d: ReportData): string[] {
  const modes = d.families();
  if (modes.length === 1 && modes[0] === 'ipv4') return [];
  return [
    `IP families: ${modes.map((m) => FAMILY_TEXT[m]).join('; ')}. ` +
      'Every figure of a run that is not IPv4-only names its mode (`--family`) in its heading and columns (e.g. `10000×3, dual`); ' +
      'a dual-stack figure is the work for both families (both plans compiled, rendered, sent, read back).',
    '',
  ];
}

export async function writeReport(dirs: readonly string[], out: string): Promise<string> {
  if (dirs.length === 0) throw new Error('kpb report: no result folder given');
  const d = new ReportData(labelSources(dirs.map(readSource)));
  mkdirSync(out, { recursive: true });
  const drawn = charts(d);
  const drawnFrom = d.labelled.map((s) => `\`${path.relative(out, path.join(s.dir, 'results.json')) || 'results.json'}\``).join(', ');
  const md: string[] = [
    '# kpb bench report',
    '',
    `Drawn from ${drawnFrom} (schema kpb-bench/1). ` +
      'Times in ms unless marked; cells: **median** (p90) [95% CI of the median, from 6 samples] n=samples. Warm-up runs are discarded.',
    '',
    ...familyLines(d),
    ...environmentSection(d),
    ...backendsSection(d),
    ...targetsSection(d),
    '## Figures',
    '',
    FLAG_TEXT,
    '',
    WIDE_TEXT,
    '',
    BUSY_TEXT,
    '',
    ...d.ops.filter((op) => !isSplitPart(op)).flatMap((op) => figureSection(d, op)),
    ...splitSection(d),
    ...readBackSection(d),
    ...speedupSection(d),
    ...pairSection(d),
    ...growthSection(d),
    ...(await chartsSection(out, drawn)),
    '## Reading',
    '',
    ...reading(d),
    '',
  ];
  const file = path.join(out, 'report.md');
  writeFileSync(file, `${md.join('\n').replace(/\n{3,}/g, '\n\n').trim()}\n`);
  writeFileSync(path.join(out, 'index.html'), indexHtml({ title: 'kpb bench report', sources: drawnFrom, charts: drawn, growth: growthTable(d) }));
  return file;
}

const READING_FIGURES: readonly FigureId[] = ['full-sync', 'resync', 'incremental-1', 'generate', 'rss-peak'];

/** The flagged figures (kpb share over the limit) and the syncs that fell back to a full apply. */
function attentionLines(d: ReportData): string[] {
  const flagged = SPLIT_FIGURES.flatMap((op) =>
    d.rows.filter((r) => r.operation === op && (d.share(d.series(r), op, r.services, r.endpointsPerService) ?? 0) > SHARE_LIMIT).map((r) => `${op} ${d.series(r)} @ ${r.services}${familySuffix(r)}`),
  );
  const fellBack = d.rows.filter((r) => r.fullApplies).map((r) => `${r.operation} ${d.series(r)} @ ${r.services}${familySuffix(r)} (${r.fullApplies}×)`);
  return [
    ...(flagged.length
      ? [`- ${FLAG} ${flagged.length} figure(s) are mostly kpb (userspace over ${SHARE_LIMIT}%): ${flagged.slice(0, 8).join(', ')}${flagged.length > 8 ? `, … (${flagged.length - 8} more in the split table)` : ''}.`]
      : []),
    ...(fellBack.length ? [`- Syncs that fell back to a full apply: ${fellBack.join(', ')}.`] : []),
  ];
}

/** A few sentences drawn from the numbers: who is fastest where, how first and last packets compare. */
function reading(d: ReportData): string[] {
  const { rows, multiHost } = d;
  const out: string[] = attentionLines(d);
  for (const op of READING_FIGURES) {
    for (const family of d.families()) {
      const at = rows.filter((r) => r.operation === op && r.median !== null && r.family === family);
      if (!at.length) continue;
      const top = Math.max(...at.map((r) => r.services));
      const ranked = at.filter((r) => r.services === top).sort((a, b) => a.median! - b.median!);
      if (ranked.length < 2) continue;
      const best = ranked[0]!;
      const worst = ranked[ranked.length - 1]!;
      const unit = best.unit;
      out.push(
        `- **${op}** at ${top} services${familySuffix(best)}: ${seriesOf(best, multiHost)} ${op === 'rss-peak' ? 'uses least' : 'is fastest'} (${fmt(best.median, unit)}), ` +
          `${seriesOf(worst, multiHost)} ${op === 'rss-peak' ? 'most' : 'slowest'} (${fmt(worst.median, unit)}, ${fmt(worst.median! / best.median!)}×).`,
      );
    }
  }
  const firsts = rows.filter((r) => r.operation === 'first-packet-first' && r.median !== null);
  const lat: string[] = [];
  for (const f of firsts) {
    const l = rows.find(
      (r) => r.operation === 'first-packet-last' && r.host === f.host && r.family === f.family && r.backend === f.backend && r.layout === f.layout && r.services === f.services && r.median !== null,
    );
    if (l) lat.push(`${seriesOf(f, multiHost)} @ ${f.services}${familySuffix(f)}: ${fmt(f.median, 'µs')} → ${fmt(l.median, 'µs')} (${fmt(l.median! / f.median!)}×)`);
  }
  if (lat.length) out.push(`- **first packet**, first → last service: ${lat.join('; ')}. A linear rule walk (iptables KUBE-SERVICES) grows with the position of the service; map lookups (nft) should not.`);
  const over = rows.filter((r) => r.overCap);
  if (over.length) out.push(`- ${over.length} figure(s) have samples over the time cap (see the tables).`);
  if (!out.length) out.push('- Not enough figures to compare.');
  return out;
}

/** The headline's time columns: label and figure (kpb's share is shown where it is over the limit). */
const HEADLINE_TIMES: readonly (readonly [string, FigureId])[] = [
  ['full sync', 'full-sync'],
  ['full sync over itself', 'resync'],
  ['one service changes', 'incremental-1'],
  ['1% of services change', 'churn-1pct'],
  ['verify', 'verify'],
  ['… its listing alone', 'verify/kernel'],
  ['drift check', 'drift-check'],
];

/** A time for a table cell: ms below a second, s above. */
function fmtTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  return ms >= 1000 ? `${fmt(ms / 1000)} s` : `${fmt(ms)} ms`;
}

/**
 * The README's headline from one results folder: one row per variant at `services`, the
 * medians of the main figures (the report has their intervals), first → last packet, peak RSS,
 * what the full sync sent and left in the kernel, and how full sync grows over the run's sizes.
 */
export function headlineMarkdown(dir: string, services: number): string {
  const d = new ReportData(labelSources([readSource(dir)]));
  const fits = growthFits(d).filter((f) => f.op === 'full-sync');
  const variants = uniq(d.rows.filter((r) => r.services === services).map((r) => d.series(r))).sort(sortVariants);
  if (!variants.length) throw new Error(`kpb report: ${dir} has no figures at ${services} services`);
  const at = (v: string, op: string) => d.find(v, op, services);
  const time = (v: string, op: string): string => {
    const r = at(v, op);
    if (r?.median === null && r.overCap) return '> cap';
    const share = op.includes('/') ? undefined : d.share(v, op, services, r?.endpointsPerService ?? 3);
    return `${fmtTime(r?.median)}${share !== undefined && share > SHARE_LIMIT ? ` (${Math.round(share)}%)` : ''}`;
  };
  const count = (v: string, op: string) => {
    const m = at(v, op)?.median;
    return m === null || m === undefined ? '–' : Math.round(m).toLocaleString('en-US');
  };
  const growth = (v: string) => {
    const g = fits.find((f) => d.series(f.rows[0]!) === v)?.growth;
    return g ? `n^${g.k.toFixed(2)}${g.ci95 ? ` [${g.ci95[0].toFixed(2)}–${g.ci95[1].toFixed(2)}]` : ''}` : '–';
  };
  const packets = (v: string) => {
    const [first, last] = [at(v, 'first-packet-first')?.median, at(v, 'first-packet-last')?.median];
    return first == null || last == null ? '–' : `${fmt(first)} → ${fmt(last)} µs`;
  };
  const rss = (v: string) => {
    const m = at(v, 'rss-peak')?.median;
    return m == null ? '–' : `${fmt(m)} MB`;
  };
  const times = table(
    [`at ${services.toLocaleString('en-US')} services`, ...HEADLINE_TIMES.map(([label]) => label), 'connect, first → last service', 'peak RSS', 'full sync grows like'],
    variants.map((v) => [v, ...HEADLINE_TIMES.map(([, op]) => time(v, op)), packets(v), rss(v), growth(v)]),
  );
  const objects = table(
    ['what a full sync sends and leaves', 'lines / messages sent', 'bytes sent', 'chains', 'rules', 'sets and maps', 'elements'],
    variants.map((v) => [v, ...['objects/sent', 'objects/bytes', 'objects/chains', 'objects/rules', 'objects/sets', 'objects/elements'].map((op) => count(v, op))]),
  );
  return `${times}\n\n${objects}\n`;
}
