/**
 * A bench run: every selected backend/variant over every scale, interleaved round-robin (each
 * repeat visits every scale and, within it, every variant in a rotating order) so that machine
 * noise hits them alike. Samples go to a collector; results.json is written at the end, then the
 * report is drawn from it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isRoot } from '@kpb/testing';
import { describeError, loadVariant } from './backends.ts';
import type { Variant } from './backends.ts';
import { buildBenchCluster } from './cluster.ts';
import type { BenchCluster } from './cluster.ts';
import { Collector, type VariantState } from './collector.ts';
import { allows, type FigureGroup } from './figures.ts';
import { GROUPS, LatencyCluster, REPO_ROOT, type Group, type RunContext } from './groups.ts';
import { isAborted, onInterrupt } from './kernel.ts';
import { Progress } from './progress.ts';
import { collectEnvironment, SCHEMA } from './results.ts';
import type { FamilyMode, ResultsFile, RunParameters } from './results.ts';

export interface RunOptions {
  readonly variants: readonly Variant[];
  readonly services: readonly number[];
  readonly endpointsPerService: number;
  readonly repeats: number;
  /** Measured rounds at sizes above 10k services (default: `repeats`); the big sizes cost the most. */
  readonly repeatsAbove10k?: number;
  readonly warmup: number;
  readonly seed: number;
  /** The cluster's IP families: `ipv4` (default), `ipv6` or `dual` (one plan per family, sent together). */
  readonly family?: FamilyMode;
  readonly capSeconds: number;
  readonly quick: boolean;
  /** Folder for results.json (and the report). */
  readonly out: string;
  /** incremental-1 samples per cycle (toggling: add, remove, …). */
  readonly incrementalSamples: number;
  /** TCP connects per first/last service per repeat. */
  readonly latencyCount: number;
  /** tinybench time budget per task per repeat, ms. */
  readonly generateMs: number;
  /** Measure kernel figures (default: when root). */
  readonly kernel?: boolean;
  /** Figure groups to measure: 'generate', 'sync' (full-sync … flush), 'first-packet', 'rss-peak'. Default: all. */
  readonly figures?: readonly FigureGroup[];
  /** Show progress on stderr (default true). */
  readonly progress?: boolean;
  readonly command: string;
}

/** Create every variant's backend; one that fails is unavailable, with the reason. */
function loadStates(variants: readonly Variant[], progress: Progress): VariantState[] {
  return variants.map((v) => {
    const st: VariantState = { v, status: { backend: v.backend, layout: v.variant, available: false } };
    try {
      st.loaded = loadVariant(v);
      st.status = { backend: v.backend, layout: v.variant, available: true };
    } catch (e) {
      st.status = { backend: v.backend, layout: v.variant, available: false, reason: describeError(e) };
      progress.note(`kpb bench: ${v.id} unavailable: ${st.status.reason}`);
    }
    return st;
  });
}

/** Measured rounds at a size: `repeatsAbove10k` above 10k services when it is fewer, else `repeats`. */
export function repeatsAt(o: Pick<RunOptions, 'repeats' | 'repeatsAbove10k'>, services: number): number {
  return services > 10_000 ? Math.min(o.repeats, o.repeatsAbove10k ?? o.repeats) : o.repeats;
}

/** The rounds of a run over the live variants, with what each visit of a group needs. */
class Rounds {
  readonly #clusters = new Map<number, BenchCluster>();

  constructor(
    readonly o: RunOptions,
    readonly ctx: RunContext,
    readonly live: readonly VariantState[],
    readonly kernel: boolean,
  ) {}

  /** The groups a round runs (warm-up rounds: only those that warm up). */
  groups(warm: boolean): Group[] {
    return GROUPS.filter((g) => (this.kernel || !g.kernel) && (!warm || g.warmup));
  }

  repeatsAt(n: number): number {
    return repeatsAt(this.o, n);
  }

  /** Steps of the progress line: every group visit counts one, run or skipped. */
  totalSteps(scales: readonly number[]): number {
    const warm = this.o.warmup * this.groups(true).length;
    return scales.reduce((sum, n) => sum + this.live.length * (warm + this.repeatsAt(n) * this.groups(false).length), 0);
  }

  clusterFor(n: number): BenchCluster {
    let c = this.#clusters.get(n);
    if (!c) {
      c = buildBenchCluster(n, this.o.endpointsPerService, this.o.seed, this.o.family ?? 'ipv4');
      this.#clusters.clear(); // keep one scale in memory at a time
      this.#clusters.set(n, c);
    }
    return c;
  }

  async round(round: number, scales: readonly number[]): Promise<void> {
    const warm = round < this.o.warmup;
    const label = warm ? `warm-up ${round + 1}/${this.o.warmup}` : `repeat ${round - this.o.warmup + 1}/${this.o.repeats}`;
    for (const n of scales) {
      if (isAborted()) break;
      if (!warm && round - this.o.warmup >= this.repeatsAt(n)) continue;
      const bc = this.clusterFor(n);
      // Rotate the order every round so that no variant always goes first.
      const order = this.live.map((_, i) => this.live[(i + round) % this.live.length]!);
      for (const st of order) {
        for (const g of this.groups(warm)) {
          if (isAborted()) break;
          const family = bc.family === 'ipv4' ? '' : `, ${bc.family}`;
          await this.visit(g, st, bc, warm, `${label} · ${n} svc × ${this.o.endpointsPerService}${family} · ${st.v.id}`);
        }
      }
    }
  }

  /** Run one group for one variant at one scale, or record why not; one progress step either way. */
  async visit(g: Group, st: VariantState, bc: BenchCluster, warm: boolean, where: string): Promise<void> {
    const { ctx } = this;
    const wanted = !this.o.figures || this.o.figures.includes(g.id);
    if (wanted && g.figures.some((f) => allows(st.v, f.id))) {
      if (g.kernel && kernelSkipped(st, bc)) {
        if (!warm && !st.kernelError) this.noteSkipped(g, st, bc);
      } else {
        ctx.progress.step(`${where} · ${g.label}`);
        const counts = ctx.collector.sampleCounts();
        const before = os.loadavg()[0]!;
        try {
          await g.run(ctx, st, bc, !warm);
          if (!warm) ctx.collector.visited(st, bc, before, os.loadavg()[0]!, counts);
        } catch (e) {
          st.kernelError = `${g.label}: ${describeError(e)}`;
          ctx.progress.note(`kpb bench: ${st.v.id}: ${st.kernelError} (no more kernel figures for it)`);
        }
      }
    }
    ctx.progress.advance();
  }

  /** A group not run because the variant went over the cap at a smaller scale. */
  noteSkipped(g: Group, st: VariantState, bc: BenchCluster): void {
    for (const f of g.figures) {
      if (!allows(st.v, f.id)) continue;
      this.ctx.collector.over(st, bc, f.id, f.unit);
      this.ctx.collector.note(st, bc, f.id, f.unit, `not run: over the ${this.o.capSeconds}s cap at ${st.overCapAt} services`);
    }
  }
}

function kernelSkipped(st: VariantState, bc: BenchCluster): boolean {
  if (st.kernelError) return true;
  return st.overCapAt !== undefined && bc.services >= st.overCapAt;
}

function writeResults(o: RunOptions, results: ResultsFile, progress: Progress): string {
  mkdirSync(o.out, { recursive: true });
  const file = path.join(o.out, 'results.json');
  writeFileSync(file, `${JSON.stringify(results, null, 1)}\n`);
  progress.finish(`kpb bench: ${results.results.length} figures written to ${file}`);
  return file;
}

function parametersOf(o: RunOptions, scales: readonly number[], started: number): RunParameters {
  return {
    services: scales,
    endpointsPerService: o.endpointsPerService,
    repeats: o.repeats,
    ...(o.repeatsAbove10k !== undefined && o.repeatsAbove10k < o.repeats && scales.some((n) => n > 10_000) ? { repeatsAbove10k: o.repeatsAbove10k } : {}),
    warmup: o.warmup,
    seed: o.seed,
    capSeconds: o.capSeconds,
    quick: o.quick,
    family: o.family ?? 'ipv4',
    command: o.command,
    durationSeconds: Math.round((performance.now() - started) / 1000),
  };
}

function kernelDecision(o: RunOptions): { kernel: boolean; reason?: string } {
  const root = isRoot();
  const kernel = o.kernel ?? root;
  if (kernel) return { kernel };
  return { kernel, reason: root ? 'kernel figures turned off (--no-kernel)' : 'not root: kernel figures need root (network namespaces, iptables, nft); generation only' };
}

export async function runBench(o: RunOptions): Promise<{ file: string; results: ResultsFile }> {
  const started = performance.now();
  const { kernel, reason: kernelReason } = kernelDecision(o);
  const progress = new Progress(1, process.stderr, o.progress !== false);
  const loadStart = os.loadavg()[0]!;
  if (loadStart > os.cpus().length) {
    progress.note(`kpb bench: the machine is busy (load ${loadStart.toFixed(1)} on ${os.cpus().length} cores): figures will be noisy`);
  }
  const states = loadStates(o.variants, progress);
  const latencyCluster = new LatencyCluster();
  const ctx: RunContext = {
    collector: new Collector(),
    progress,
    capMs: o.capSeconds * 1000,
    capSeconds: o.capSeconds,
    quick: o.quick,
    seed: o.seed,
    generateMs: o.generateMs,
    incrementalSamples: o.incrementalSamples,
    latencyCount: o.latencyCount,
    latencyCluster,
  };
  const rounds = new Rounds(o, ctx, states.filter((s) => s.loaded), kernel);
  const scales = [...o.services].sort((a, b) => a - b);
  progress.setTotal(rounds.totalSteps(scales));
  const offInterrupt = onInterrupt(() => latencyCluster.drop());
  try {
    for (let round = 0; round < o.warmup + o.repeats && !isAborted(); round++) await rounds.round(round, scales);
  } finally {
    await latencyCluster.drop();
    offInterrupt();
  }
  const results: ResultsFile = {
    schema: SCHEMA,
    environment: collectEnvironment(REPO_ROOT, { ok: kernel, ...(kernelReason ? { reason: kernelReason } : {}) }, loadStart),
    parameters: parametersOf(o, scales, started),
    backends: states.map((s) => (s.kernelError ? { ...s.status, kernelError: s.kernelError } : s.status)),
    results: ctx.collector.rows(),
  };
  return { file: writeResults(o, results, progress), results };
}
