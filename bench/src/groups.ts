/**
 * The figure groups, each a small object: the `--figures` name, the progress label, whether it
 * needs the kernel or also runs in warm-up rounds, and `run`, which takes one measurement of all
 * its figures for one variant at one scale and hands the samples to the collector.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApplyResult, Backend, SyncResult, Target } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
import { createVirtualCluster, execIn, type VirtualCluster } from '@kpb/testing';
import { describeError, freshBackend } from './backends.ts';
import { PROBE_POD_IP, PROBE_POD_PORT, PROBE_SERVICE_PORT, type BenchCluster } from './cluster.ts';
import type { Collector, VariantState } from './collector.ts';
import { allows, figuresOf, isBaseFigure, type Figure, type FigureGroup } from './figures.ts';
import type { GenerateArgs, GenerateOutput } from './generate-child.ts';
import { benchNamespace, capped, dropNamespace, killInNamespace, onInterrupt, type Capped } from './kernel.ts';
import { timeListings } from './listing.ts';
import { kernelObjects } from './objects.ts';
import type { Progress } from './progress.ts';
import type { Unit } from './results.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AGENT = fileURLToPath(new URL('./agents/connect-latency.mjs', import.meta.url));
const RSS_CHILD = fileURLToPath(new URL('./rss-child.ts', import.meta.url));
const GENERATE_CHILD = fileURLToPath(new URL('./generate-child.ts', import.meta.url));

/** What every group's run needs from the run. */
export interface RunContext {
  readonly collector: Collector;
  readonly progress: Progress;
  readonly capMs: number;
  readonly capSeconds: number;
  readonly quick: boolean;
  readonly seed: number;
  readonly generateMs: number;
  readonly incrementalSamples: number;
  readonly latencyCount: number;
  readonly latencyCluster: LatencyCluster;
}

export interface Group {
  readonly id: FigureGroup;
  /** Progress label and, for kernel groups, the stage named when it fails. */
  readonly label: string;
  /** Needs root: a namespace, the tools, the kernel. */
  readonly kernel: boolean;
  /** Also runs in warm-up rounds (unrecorded). */
  readonly warmup: boolean;
  /** Its own figures, not their parts: these are marked when the group is skipped over the cap. */
  readonly figures: readonly Figure[];
  run(ctx: RunContext, st: VariantState, bc: BenchCluster, record: boolean): Promise<void>;
}

const baseFigures = (g: FigureGroup) => figuresOf(g).filter(isBaseFigure);

/**
 * Runs `f` with a new instance of the variant's backend (its state files in a folder of its own),
 * dropped afterwards. An instance keeps what it built and committed (rulesets per plan, commit
 * records with their plans) for as long as it lives: one kept for the whole run held every
 * variant's rulesets of the scale, and every visit's records, in the bench's heap, where V8's
 * full collections mark them during every later figure's userspace work.
 */
async function withVisitBackend<T>(st: VariantState, f: (backend: Backend) => Promise<T>): Promise<T> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'kpb-bench-state-'));
  try {
    return await f(freshBackend(st.v, stateDir));
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** A sample ran past the cap: kernel figures of this variant stop at this scale. */
function markOver(ctx: RunContext, st: VariantState, bc: BenchCluster): void {
  st.overCapAt = Math.min(st.overCapAt ?? Infinity, bc.services);
  ctx.progress.note(`kpb bench: ${st.v.id} at ${bc.services} services ran past the ${ctx.capSeconds}s cap: its kernel figures stop here`);
}

// ---------- generate, render, compile, parse-kubectl ----------

/** Timed in a child of its own (generate-child.ts says why); its samples, or a note when it failed or ran past the cap. */
async function generate(ctx: RunContext, st: VariantState, bc: BenchCluster): Promise<void> {
  const args: GenerateArgs = { id: st.v.id, services: bc.services, endpoints: bc.endpointsPerService, seed: ctx.seed, family: bc.family, ms: ctx.generateMs, iterations: ctx.quick ? 2 : 3 };
  const r = await runChild(ctx, GENERATE_CHILD, JSON.stringify(args), async () => {});
  if (r.code === undefined) {
    ctx.collector.over(st, bc, 'generate', 'ms');
    ctx.collector.note(st, bc, 'generate', 'ms', `child killed at the ${ctx.capSeconds}s cap`);
    return;
  }
  if (r.code !== 0) throw new Error(`generate child exited ${r.code}: ${r.err.trim()}`);
  const got = JSON.parse(r.out.trim().split('\n').pop()!) as GenerateOutput;
  if (got.renderNote !== undefined) {
    ctx.collector.note(st, bc, 'generate', 'ms', got.renderNote);
    ctx.collector.note(st, bc, 'render', 'ms', got.renderNote);
  }
  for (const [figure, samples] of Object.entries(got.samples)) ctx.collector.add(st, bc, figure, 'ms', ...samples);
}

// ---------- the sync cycle: full-sync, resync, incremental-1, churn-1pct, verify, drift-check, flush ----------

/** One namespace, one variant: the cycle's steps share it and stop at the first over-cap sample. */
class CycleRun {
  #current: readonly Plan[];
  readonly target: Target;

  constructor(
    readonly ctx: RunContext,
    readonly st: VariantState,
    readonly bc: BenchCluster,
    readonly record: boolean,
    readonly ns: string,
    readonly backend: Backend,
  ) {
    this.#current = bc.plans;
    this.target = { kind: 'netns', name: ns };
  }

  /** Run `f` under the cap; false (and the figure marked over the cap) when it ran past. */
  async capped<T>(op: string, f: () => Promise<T>): Promise<Capped<T>> {
    const r = await capped(f, this.ctx.capMs, async () => {
      await killInNamespace(this.ns);
    });
    if (!r.ok) {
      if (this.record) this.ctx.collector.over(this.st, this.bc, op, 'ms');
      markOver(this.ctx, this.st, this.bc);
    }
    return r;
  }

  add(op: string, unit: '%' | 'ms' | 'count', value: number): void {
    if (this.record) this.ctx.collector.add(this.st, this.bc, op, unit, value);
  }

  note(op: string, text: string, unit: Unit = 'ms'): void {
    if (this.record) this.ctx.collector.note(this.st, this.bc, op, unit, text);
  }

  /** One sample of a figure and its parts: the tool or kernel part, kpb's userspace (the rest) and its share. */
  split(op: string, wallMs: number, kernelMs: number): void {
    const userspace = Math.max(0, wallMs - kernelMs);
    this.add(op, 'ms', wallMs);
    this.add(`${op}/kernel`, 'ms', kernelMs);
    this.add(`${op}/userspace`, 'ms', userspace);
    this.add(`${op}/userspace-share`, '%', wallMs > 0 ? (100 * userspace) / wallMs : 0);
  }

  /** full-sync into the empty namespace (then the kernel objects it left), then resync over it; both compile + apply. */
  async fullLoads(): Promise<boolean> {
    for (const op of ['full-sync', 'resync'] as const) {
      const r = await this.capped(op, async () => {
        const plans = this.bc.compile();
        return this.backend.apply(this.target, plans);
      });
      if (!r.ok) return false;
      this.split(op, r.ms, r.value.timings.kernel);
      if (op === 'full-sync' && allows(this.st.v, 'objects/chains')) await this.objects(r.value.size);
    }
    return true;
  }

  /** The objects/* figures: what the full sync sent, and what it left in the kernel (the same every round). */
  async objects(sent: ApplyResult['size']): Promise<void> {
    this.add('objects/sent', 'count', sent.count);
    if (sent.bytes !== undefined) this.add('objects/bytes', 'count', sent.bytes);
    let counts;
    try {
      counts = await kernelObjects(this.st.v, this.target, this.bc.plans, this.ctx.capMs);
    } catch (e) {
      // The count is kpb's own listing (`nft -j list ruleset` of iptables-nft's tables passes the
      // cap at 30k): a failure there says nothing about the variant, whose figures go on.
      for (const k of ['chains', 'rules', 'sets', 'elements']) this.note(`objects/${k}`, `not counted: ${describeError(e)}`, 'count');
      return;
    }
    for (const [k, n] of Object.entries(counts)) this.add(`objects/${k}`, 'count', n);
  }

  /** What a sync sample did: a fall-back to a full apply is counted, a read-back is noted. */
  syncMode(op: string, res: SyncResult): void {
    if (res.mode !== 'incremental') {
      if (this.record) this.ctx.collector.fullApply(this.st, this.bc, op);
      this.note(op, `sync did a full apply: ${res.reason ?? 'no reason given'}`);
    } else if (res.reason !== undefined) this.note(op, `incremental after a read-back: ${res.reason}`);
  }

  /** Sync from the current plan to `to`; `timed`: record the sample. */
  async syncTo(op: string, to: readonly Plan[], timed: boolean): Promise<boolean> {
    const from = this.#current;
    const r = await this.capped(op, () => this.backend.sync(this.target, from, to));
    if (!r.ok) return false;
    this.#current = to;
    if (timed) {
      this.split(op, r.ms, r.value.timings.kernel);
      this.syncMode(op, r.value);
    }
    return true;
  }

  /** incremental-1 (toggling one service) and churn-1pct (1% of services, then back). */
  async syncs(): Promise<boolean> {
    const { st, bc, ctx } = this;
    if (allows(st.v, 'incremental-1')) {
      for (let i = 0; i < ctx.incrementalSamples; i++) {
        if (!(await this.syncTo('incremental-1', this.#current === bc.plans ? bc.plusOne : bc.plans, true))) return false;
      }
      if (this.#current !== bc.plans && !(await this.syncTo('incremental-1', bc.plans, false))) return false;
    }
    if (allows(st.v, 'churn-1pct')) {
      if (!(await this.syncTo('churn-1pct', bc.churn, true))) return false;
      if (!(await this.syncTo('churn-1pct', bc.plans, true))) return false;
      this.note('churn-1pct', `${bc.churnCount} services change (an endpoint added, then removed)`);
    }
    return true;
  }

  /** verify, then the listing tools alone (the tool/kernel part of verify and of the drift check), then the drift check. */
  async readBacks(): Promise<boolean> {
    const { st, bc, target } = this;
    if (!allows(st.v, 'verify') && !allows(st.v, 'drift-check')) return true;
    let verifyMs: number | undefined;
    if (allows(st.v, 'verify')) {
      const r = await this.capped('verify', () => this.backend.verify(target, bc.plans));
      if (!r.ok) return false;
      verifyMs = r.ms;
      if (!r.value.ok) {
        const d = r.value.differences;
        this.note('verify', `verify reported ${d.length} difference(s), e.g. ${d[0]?.kind} ${d[0]?.object}`);
      }
    }
    // The tools' own timeout is past the cap, so that a slow listing counts as over the cap at this
    // size (figures stop here) rather than as a failure (no more kernel figures at any size).
    const listed = await this.capped('verify/tool', () => timeListings(st.v, target, bc.plans, this.ctx.capMs + 30_000));
    if (!listed.ok) return false;
    const { tool, addon, backendReads, together } = listed.value;
    if (verifyMs !== undefined) {
      // Several families: verify reads them at once, so its listing part is the families' listings at once.
      this.split('verify', verifyMs, together ?? backendReads);
      this.add('verify/tool', 'ms', tool);
      if (addon !== undefined) this.add('verify/addon', 'ms', addon);
    }
    return !allows(st.v, 'drift-check') || this.driftCheck(backendReads);
  }

  /**
   * A fresh backend instance (no record of a commit) syncs the loaded plan to itself: it must read
   * the kernel back and compare, and the update is empty. A fall-back to a full apply is not a sample.
   */
  async driftCheck(listingMs: number): Promise<boolean> {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'kpb-bench-state-'));
    try {
      const fresh = freshBackend(this.st.v, stateDir);
      const r = await this.capped('drift-check', () => fresh.sync(this.target, this.bc.plans, this.bc.plans));
      if (!r.ok) return false;
      const res = r.value;
      if (res.mode !== 'incremental') {
        this.syncMode('drift-check', res);
        this.ctx.progress.note(`kpb bench: ${this.st.v.id}: the drift check fell back to a full apply (${res.reason ?? 'no reason given'}): no sample`);
        return true;
      }
      if (res.reason === undefined) this.note('drift-check', 'the sync gave no reason (`SyncResult.reason`) for reading the kernel back');
      else this.note('drift-check', res.reason);
      this.split('drift-check', r.ms, listingMs + res.timings.kernel);
      return true;
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  }

  async flush(): Promise<void> {
    if (allows(this.st.v, 'flush')) {
      const r = await this.capped('flush', () => this.backend.flush(this.target, this.bc.families));
      if (r.ok) this.add('flush', 'ms', r.ms);
    }
  }
}

async function syncCycle(ctx: RunContext, st: VariantState, bc: BenchCluster, record: boolean): Promise<void> {
  const ns = await benchNamespace();
  try {
    await withVisitBackend(st, async (backend) => {
      const cycle = new CycleRun(ctx, st, bc, record, ns, backend);
      if ((await cycle.fullLoads()) && (await cycle.syncs()) && (await cycle.readBacks())) await cycle.flush();
    });
  } catch (e) {
    st.kernelError = `load/sync in a namespace: ${describeError(e)}`;
    ctx.progress.note(`kpb bench: ${st.v.id}: ${st.kernelError} (no more kernel figures for it)`);
  } finally {
    await dropNamespace(ns).catch((e: unknown) => ctx.progress.note(`kpb bench: cannot delete ${ns}: ${describeError(e)}`));
  }
}

// ---------- first-packet-first, first-packet-last ----------

/** The virtual cluster (client, node, one pod) the first-packet figures connect through, kept across variants. */
export class LatencyCluster {
  #vc: VirtualCluster | undefined;
  #born = 0;

  async ensure(): Promise<VirtualCluster> {
    // Echo servers end themselves after 10 minutes: renew the cluster well before.
    if (this.#vc && performance.now() - this.#born > 8 * 60_000) await this.drop();
    if (!this.#vc) {
      this.#vc = await createVirtualCluster({
        nodeIP: '192.168.200.1',
        clientIP: '192.168.200.2',
        pods: [{ name: 'pod0', ip: PROBE_POD_IP, tcpPorts: [PROBE_POD_PORT] }],
        routedToNode: ['10.96.0.0/12'],
      });
      this.#born = performance.now();
    }
    return this.#vc;
  }

  async drop(): Promise<void> {
    const c = this.#vc;
    this.#vc = undefined;
    if (c) {
      await killInNamespace(c.nodeNs).catch(() => {});
      await c.teardown().catch(() => {});
    }
  }
}

async function connectSamples(ns: string, dst: string, count: number): Promise<{ samples: number[]; failures: Record<string, number> }> {
  const res = await execIn(
    ns,
    [process.execPath, AGENT, '--dst', dst, '--port', String(PROBE_SERVICE_PORT), '--count', String(count), '--warmup', '3', '--timeout-ms', '1000'],
    { timeoutMs: (count + 3) * 1100 + 10_000 },
  );
  return JSON.parse(res.stdout.trim().split('\n').pop() ?? '{}') as { samples: number[]; failures: Record<string, number> };
}

/** Connects to the first and the last service port in alternating order, a few batches. */
async function probeFirstAndLast(ctx: RunContext, st: VariantState, bc: BenchCluster, clientNs: string): Promise<void> {
  const batches = Math.min(ctx.quick ? 2 : 4, ctx.latencyCount);
  const per = Math.max(1, Math.floor(ctx.latencyCount / batches));
  for (let i = 0; i < batches; i++) {
    const order: ['first-packet-first' | 'first-packet-last', string][] = [
      ['first-packet-first', bc.firstIP],
      ['first-packet-last', bc.lastIP],
    ];
    if (i % 2) order.reverse();
    for (const [op, ip] of order) {
      const got = await connectSamples(clientNs, ip, per);
      ctx.collector.add(st, bc, op, 'us', ...got.samples);
      const f = Object.entries(got.failures);
      if (f.length) ctx.collector.note(st, bc, op, 'us', `failed connects: ${f.map(([k, n]) => `${k}×${n}`).join(', ')}`);
    }
  }
  const of = bc.families.length > 1 ? `the ${bc.probeFamily} plan` : 'the plan';
  ctx.collector.note(st, bc, 'first-packet-first', 'us', `${bc.firstKey} (${bc.firstIP}), first service port of ${of}`);
  ctx.collector.note(st, bc, 'first-packet-last', 'us', `${bc.lastKey} (${bc.lastIP}), last service port of ${of}`);
}

async function firstPacket(ctx: RunContext, st: VariantState, bc: BenchCluster): Promise<void> {
  if (bc.probeFamily !== 'IPv4') {
    // The virtual cluster (client, node, pod) is IPv4 only.
    for (const op of ['first-packet-first', 'first-packet-last']) ctx.collector.note(st, bc, op, 'us', 'not measured: the probe cluster is IPv4 only (an IPv6-only run)');
    return;
  }
  await withVisitBackend(st, (b) => firstPacketWith(ctx, st, bc, b));
}

async function firstPacketWith(ctx: RunContext, st: VariantState, bc: BenchCluster, b: Backend): Promise<void> {
  const c = await ctx.latencyCluster.ensure();
  const target: Target = { kind: 'netns', name: c.nodeNs };
  // Every family's plan is loaded (as a node would hold them); the connects are IPv4.
  const r = await capped(() => b.apply(target, bc.plans), ctx.capMs, () => ctx.latencyCluster.drop());
  if (!r.ok) {
    ctx.collector.over(st, bc, 'first-packet-first', 'us');
    ctx.collector.over(st, bc, 'first-packet-last', 'us');
    markOver(ctx, st, bc);
    return;
  }
  try {
    await probeFirstAndLast(ctx, st, bc, c.clientNs);
  } finally {
    const f = await capped(() => b.flush(target, bc.families), ctx.capMs).catch(() => ({ ok: false as const, ms: 0 }));
    if (!f.ok) await ctx.latencyCluster.drop();
  }
}

// ---------- rss-peak ----------

/** Runs a child script (rss-child, generate-child) under the cap; its exit code, or undefined when killed at the cap (then `atCap` runs). */
async function runChild(ctx: RunContext, script: string, arg: string, atCap: () => Promise<void>): Promise<{ code?: number; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, arg], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const off = onInterrupt(async () => {
    child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => {
    if (err.length < 4096) err += d.toString('utf8');
  });
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 128)));
  const r = await capped(() => exited, ctx.capMs, async () => {
    child.kill('SIGKILL');
    await atCap();
  });
  off();
  return r.ok ? { code: r.value, out, err } : { out, err };
}

async function rssPeak(ctx: RunContext, st: VariantState, bc: BenchCluster): Promise<void> {
  const ns = await benchNamespace();
  try {
    const arg = JSON.stringify({ id: st.v.id, services: bc.services, endpoints: bc.endpointsPerService, seed: ctx.seed, family: bc.family, ns });
    const r = await runChild(ctx, RSS_CHILD, arg, async () => void (await killInNamespace(ns)));
    if (r.code === undefined) {
      ctx.collector.over(st, bc, 'rss-peak', 'MB');
      ctx.collector.note(st, bc, 'rss-peak', 'MB', `child killed at the ${ctx.capSeconds}s cap (it includes tsx start-up)`);
      return;
    }
    if (r.code !== 0) throw new Error(`rss child exited ${r.code}: ${r.err.trim().slice(0, 300)}`);
    const got = JSON.parse(r.out.trim().split('\n').pop() ?? '{}') as { vmHWMkB: number };
    ctx.collector.add(st, bc, 'rss-peak', 'MB', got.vmHWMkB / 1024);
  } finally {
    await dropNamespace(ns).catch(() => {});
  }
}

/** In the order a round visits them. */
export const GROUPS: readonly Group[] = [
  {
    id: 'generate',
    label: 'generate',
    kernel: false,
    warmup: false,
    figures: baseFigures('generate'),
    async run(ctx, st, bc) {
      try {
        await generate(ctx, st, bc);
      } catch (e) {
        ctx.collector.note(st, bc, 'generate', 'ms', `failed: ${describeError(e)}`);
      }
    },
  },
  { id: 'sync', label: 'sync cycle', kernel: true, warmup: true, figures: baseFigures('sync'), run: syncCycle },
  { id: 'first-packet', label: 'first packet', kernel: true, warmup: false, figures: baseFigures('first-packet'), run: firstPacket },
  { id: 'rss-peak', label: 'rss-peak', kernel: true, warmup: false, figures: baseFigures('rss-peak'), run: rssPeak },
];
