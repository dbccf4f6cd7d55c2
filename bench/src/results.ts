/**
 * The results file, `results.json`: data first, every report is drawn from it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { round, summarize } from './stats.ts';

export const SCHEMA = 'kpb-bench/1';

export type Unit = 'ms' | 'us' | 'MB' | '%' | 'count';

/** The IP families of a run's cluster (`--family`): IPv4 only, IPv6 only, or dual-stack. */
export type FamilyMode = 'ipv4' | 'ipv6' | 'dual';
export const FAMILY_MODES: readonly FamilyMode[] = ['ipv4', 'ipv6', 'dual'];

/** The family mode of a results file: files written before `--family` existed are IPv4 runs. */
export function familyModeOf(file: Pick<ResultsFile, 'parameters'>): FamilyMode {
  return file.parameters?.family ?? 'ipv4';
}

export interface ResultRow {
  readonly backend: string;
  readonly layout: string;
  readonly services: number;
  readonly endpointsPerService: number;
  /** The figure: a `FigureId` (figures.ts) in files this version writes. */
  readonly operation: string;
  readonly unit: Unit;
  /** Kept samples (warm-up runs discarded), in `unit`, in the order taken. */
  readonly samples: readonly number[];
  /** null when no sample finished (all over the cap). */
  readonly median: number | null;
  readonly p90: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** 95% confidence interval of the median (distribution-free); only from 6 samples on. */
  readonly ci95?: readonly [number, number];
  /** Samples abandoned because they ran past the time cap. */
  readonly overCap?: number;
  /** What a reader should know: sync fell back to a full apply, position in the ruleset, … */
  readonly notes?: readonly string[];
  /**
   * Sync figures: samples whose sync fell back to a full apply (incremental-1, churn-1pct: kept
   * in `samples`; drift-check: not a sample). Absent in files written before it was counted.
   */
  readonly fullApplies?: number;
  /**
   * 1-minute load average before and after each visit that took this row's samples (a visit
   * takes one sample of most figures, several of incremental-1 and churn-1pct), in the order
   * taken; absent in files written before it was recorded. Nothing is discarded for load: the
   * report flags cells whose visits ran on a busy machine.
   */
  readonly load?: readonly (readonly [number, number])[];
}

export interface BackendStatus {
  readonly backend: string;
  readonly layout: string;
  readonly available: boolean;
  /** Why it could not be loaded. */
  readonly reason?: string;
  /** It loaded, but a kernel operation failed: its kernel figures stop there. */
  readonly kernelError?: string;
}

export interface Environment {
  readonly hostname: string;
  readonly date: string;
  readonly kernel: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryMB: number;
  readonly node: string;
  readonly iptables: string;
  readonly nft: string;
  readonly libnftnl: string;
  readonly gitCommit: string;
  /** 1-minute load average when the run started and when it ended: above `cores`, figures are noisy. */
  readonly loadAverage?: { readonly start: number; readonly end: number };
  /** Whether kernel figures were measured, and why not. */
  readonly kernelFigures: boolean;
  readonly kernelFiguresReason?: string;
}

export interface RunParameters {
  readonly services: readonly number[];
  readonly endpointsPerService: number;
  readonly repeats: number;
  /** Measured rounds at sizes above 10k services, when fewer than `repeats` (absent: `repeats`). */
  readonly repeatsAbove10k?: number;
  readonly warmup: number;
  readonly seed: number;
  readonly capSeconds: number;
  readonly quick: boolean;
  /**
   * The cluster's IP families (`--family`); every row of the file is of this run. Absent in
   * files written before it was recorded: those are IPv4 runs.
   */
  readonly family?: FamilyMode;
  readonly command: string;
  readonly durationSeconds?: number;
}

export interface ResultsFile {
  readonly schema: typeof SCHEMA;
  readonly environment: Environment;
  readonly parameters?: RunParameters;
  readonly backends?: readonly BackendStatus[];
  readonly results: readonly ResultRow[];
}

/** What a row holds beside its samples. */
interface RowExtras {
  readonly overCap?: number;
  readonly notes?: readonly string[];
  readonly fullApplies?: number;
  readonly load?: readonly (readonly [number, number])[];
}

/** Build a row from raw samples; rounds summary values for publication. */
export function makeRow(
  key: Omit<ResultRow, 'samples' | 'median' | 'p90' | 'min' | 'max' | 'ci95' | 'overCap' | 'notes' | 'fullApplies' | 'load'>,
  samples: readonly number[],
  { overCap = 0, notes = [], fullApplies = 0, load = [] }: RowExtras = {},
): ResultRow {
  const kept = samples.map(round);
  const base = { ...key, samples: kept };
  const extra = {
    ...(overCap > 0 ? { overCap } : {}),
    ...(notes.length ? { notes: [...new Set(notes)] } : {}),
    ...(fullApplies > 0 ? { fullApplies } : {}),
    ...(load.length ? { load: load.map(([a, b]) => [round(a), round(b)] as const) } : {}),
  };
  if (samples.length === 0) return { ...base, median: null, p90: null, min: null, max: null, ...extra };
  const s = summarize(samples);
  return {
    ...base,
    median: round(s.median),
    p90: round(s.p90),
    min: round(s.min),
    max: round(s.max),
    ...(s.ci95 ? { ci95: [round(s.ci95[0]), round(s.ci95[1])] as const } : {}),
    ...extra,
  };
}

function firstLine(argv: string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] })
      .trim()
      .split('\n')[0]!
      .trim();
  } catch {
    return 'unknown';
  }
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {
    /* not Linux */
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

export function collectEnvironment(repoRoot: string, kernel: { ok: boolean; reason?: string }, loadStart?: number): Environment {
  let commit = firstLine(['git', '-C', repoRoot, 'rev-parse', 'HEAD']);
  if (commit !== 'unknown') {
    const dirty = firstLine(['git', '-C', repoRoot, 'status', '--porcelain', '--untracked-files=no']);
    if (dirty && dirty !== 'unknown') commit += ' (working tree modified)';
  }
  let libnftnl = firstLine(['pkg-config', '--modversion', 'libnftnl']);
  if (libnftnl === 'unknown') libnftnl = firstLine(['dpkg-query', '-W', '-f=${Version}', 'libnftnl11']);
  return {
    hostname: os.hostname(),
    date: new Date().toISOString(),
    kernel: os.release(),
    cpuModel: cpuModel(),
    cores: os.cpus().length,
    memoryMB: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    iptables: firstLine(['iptables', '--version']),
    nft: firstLine(['nft', '--version']),
    libnftnl,
    gitCommit: commit,
    ...(loadStart !== undefined ? { loadAverage: { start: round(loadStart), end: round(os.loadavg()[0]!) } } : {}),
    kernelFigures: kernel.ok,
    ...(kernel.reason ? { kernelFiguresReason: kernel.reason } : {}),
  };
}

/** Check the shape of a parsed results file; returns the problems found (empty: valid). */
export function validateResults(data: unknown): string[] {
  const problems: string[] = [];
  const d = data as Partial<ResultsFile> | null;
  if (!d || typeof d !== 'object') return ['not an object'];
  if (d.schema !== SCHEMA) problems.push(`schema is ${JSON.stringify(d.schema)}, expected ${SCHEMA}`);
  const env = d.environment as unknown as Record<string, unknown> | undefined;
  if (!env || typeof env !== 'object') problems.push('environment missing');
  else {
    for (const k of ['kernel', 'cpuModel', 'cores', 'memoryMB', 'node', 'iptables', 'nft', 'libnftnl', 'gitCommit']) {
      if (env[k] === undefined) problems.push(`environment.${k} missing`);
    }
  }
  const family = d.parameters?.family as unknown;
  if (family !== undefined && !(FAMILY_MODES as readonly unknown[]).includes(family)) {
    problems.push(`parameters.family is ${JSON.stringify(family)}, expected one of ${FAMILY_MODES.join(', ')}`);
  }
  if (!Array.isArray(d.results)) problems.push('results is not an array');
  else {
    d.results.forEach((r, i) => {
      for (const k of ['backend', 'layout', 'operation', 'unit'] as const) {
        if (typeof r[k] !== 'string') problems.push(`results[${i}].${k} is not a string`);
      }
      for (const k of ['services', 'endpointsPerService'] as const) {
        if (typeof r[k] !== 'number') problems.push(`results[${i}].${k} is not a number`);
      }
      if (!Array.isArray(r.samples)) problems.push(`results[${i}].samples is not an array`);
      for (const k of ['median', 'p90', 'min', 'max'] as const) {
        if (r[k] !== null && typeof r[k] !== 'number') problems.push(`results[${i}].${k} is not a number or null`);
      }
      if (r.fullApplies !== undefined && typeof r.fullApplies !== 'number') problems.push(`results[${i}].fullApplies is not a number`);
    });
  }
  return problems;
}
