/**
 * A bench run: every selected backend/layout over every scale, interleaved round-robin (each
 * repeat visits every scale and, within it, every variant in a rotating order) so that machine
 * noise hits them alike. Samples go to a collector; results.json is written at the end, then the
 * report is drawn from it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import type { Backend, Target } from '@kpb/backend';
import { compile } from '@kpb/compiler';
import type { Plan } from '@kpb/compiler';
import { createVirtualCluster, execIn, isRoot } from '@kpb/testing';
import type { VirtualCluster } from '@kpb/testing';
import { batchBuilder, describeError, loadVariant, variantId } from './backends.ts';
import type { Variant } from './backends.ts';
import { buildBenchCluster, PROBE_POD_IP, PROBE_POD_PORT, PROBE_SERVICE_PORT } from './cluster.ts';
import type { BenchCluster } from './cluster.ts';
import { benchNamespace, capped, dropNamespace, isAborted, killInNamespace, onInterrupt } from './kernel.ts';
import { Progress } from './progress.ts';
import { collectEnvironment, makeRow, SCHEMA } from './results.ts';
import type { BackendStatus, ResultRow, ResultsFile, RunParameters, Unit } from './results.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AGENT = fileURLToPath(new URL('./agents/connect-latency.mjs', import.meta.url));
const RSS_CHILD = fileURLToPath(new URL('./rss-child.ts', import.meta.url));

export interface RunOptions {
  readonly variants: readonly Variant[];
  readonly services: readonly number[];
  readonly endpointsPerService: number;
  readonly repeats: number;
  readonly warmup: number;
  readonly seed: number;
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
  readonly figures?: readonly string[];
  /** Show progress on stderr (default true). */
  readonly progress?: boolean;
  readonly command: string;
}

interface VariantState {
  readonly v: Variant;
  readonly id: string;
  backend?: Backend;
  status: BackendStatus;
  /** A kernel operation failed: no more kernel figures for this variant. */
  kernelError?: string;
  /** Smallest scale at which a sample went over the cap: kernel figures from there on are skipped. */
  overCapAt?: number;
}

interface Entry {
  readonly key: Omit<ResultRow, 'samples' | 'median' | 'p90' | 'min' | 'max'>;
  readonly samples: number[];
  overCap: number;
  readonly notes: string[];
}

class Collector {
  readonly entries = new Map<string, Entry>();
  private entry(st: VariantState, services: number, eps: number, operation: string, unit: Unit): Entry {
    const k = `${st.id}|${services}|${operation}`;
    let e = this.entries.get(k);
    if (!e) {
      e = { key: { backend: st.v.backend, layout: st.v.layout, services, endpointsPerService: eps, operation, unit }, samples: [], overCap: 0, notes: [] };
      this.entries.set(k, e);
    }
    return e;
  }
  add(st: VariantState, bc: BenchCluster, op: string, unit: Unit, ...samples: number[]): void {
    this.entry(st, bc.services, bc.endpointsPerService, op, unit).samples.push(...samples);
  }
  over(st: VariantState, bc: BenchCluster, op: string, unit: Unit, n = 1): void {
    this.entry(st, bc.services, bc.endpointsPerService, op, unit).overCap += n;
  }
  note(st: VariantState, bc: BenchCluster, op: string, unit: Unit, note: string): void {
    this.entry(st, bc.services, bc.endpointsPerService, op, unit).notes.push(note);
  }
  rows(): ResultRow[] {
    return [...this.entries.values()].map((e) => makeRow(e.key, e.samples, e.overCap, e.notes));
  }
}

const KERNEL_CYCLE_OPS: readonly [string, Unit][] = [
  ['full-sync', 'ms'],
  ['resync', 'ms'],
  ['incremental-1', 'ms'],
  ['churn-1pct', 'ms'],
  ['verify', 'ms'],
  ['flush', 'ms'],
];

export function allows(v: Variant, op: string): boolean {
  return !v.only || v.only.includes(op.split('/')[0]!);
}

/** The figures a run records for a variant (kernel figures only when measured). */
export function expectedOperations(v: Variant, kernel: boolean): string[] {
  const generation = ['generate', 'render'];
  const kernelOps = [
    'full-sync', 'full-sync/userspace', 'full-sync/kernel', 'full-sync/userspace-share',
    'resync', 'resync/userspace', 'resync/kernel',
    'incremental-1', 'churn-1pct', 'verify', 'flush',
    'first-packet-first', 'first-packet-last', 'rss-peak',
  ];
  return [...generation, ...(kernel ? kernelOps : [])].filter((op) => allows(v, op));
}

export async function runBench(o: RunOptions): Promise<{ file: string; results: ResultsFile }> {
  const started = performance.now();
  const root = isRoot();
  const kernel = o.kernel ?? root;
  const kernelReason = kernel ? undefined : root ? 'kernel figures turned off (--no-kernel)' : 'not root: kernel figures need root (network namespaces, iptables, nft); generation only';
  const progress = new Progress(1, process.stderr, o.progress !== false);
  const collector = new Collector();
  const capMs = o.capSeconds * 1000;
  const loadStart = os.loadavg()[0]!;
  if (loadStart > os.cpus().length) {
    progress.note(`kpb bench: the machine is busy (load ${loadStart.toFixed(1)} on ${os.cpus().length} cores): figures will be noisy`);
  }

  // Load backends; one that fails is unavailable, with the reason.
  const states: VariantState[] = [];
  for (const v of o.variants) {
    const st: VariantState = { v, id: variantId(v), status: { backend: v.backend, layout: v.layout, available: false } };
    try {
      st.backend = await loadVariant(v);
      st.status = { backend: v.backend, layout: v.layout, available: true };
    } catch (e) {
      st.status = { backend: v.backend, layout: v.layout, available: false, reason: describeError(e) };
      progress.note(`kpb bench: ${st.id} unavailable: ${st.status.reason}`);
    }
    states.push(st);
  }
  const live = states.filter((s) => s.backend);

  const scales = [...o.services].sort((a, b) => a - b);
  const rounds = o.warmup + o.repeats;
  const perVariantRound = (warm: boolean) => (warm ? (kernel ? 1 : 0) : 1 + (kernel ? 3 : 0));
  progress.setTotal(scales.length * live.length * (o.warmup * perVariantRound(true) + o.repeats * perVariantRound(false)));

  let vc: VirtualCluster | undefined;
  let vcBorn = 0;
  const dropVC = async () => {
    const c = vc;
    vc = undefined;
    if (c) {
      await killInNamespace(c.nodeNs).catch(() => {});
      await c.teardown().catch(() => {});
    }
  };
  const offVC = onInterrupt(dropVC);
  const ensureVC = async (): Promise<VirtualCluster> => {
    // Echo servers end themselves after 10 minutes: renew the cluster well before.
    if (vc && performance.now() - vcBorn > 8 * 60_000) await dropVC();
    if (!vc) {
      vc = await createVirtualCluster({
        nodeIP: '192.168.200.1',
        clientIP: '192.168.200.2',
        pods: [{ name: 'pod0', ip: PROBE_POD_IP, tcpPorts: [PROBE_POD_PORT] }],
        routedToNode: ['10.96.0.0/12'],
      });
      vcBorn = performance.now();
    }
    return vc;
  };

  const clusters = new Map<number, BenchCluster>();
  const clusterFor = (n: number): BenchCluster => {
    let c = clusters.get(n);
    if (!c) {
      c = buildBenchCluster(n, o.endpointsPerService, o.seed);
      clusters.clear(); // keep one scale in memory at a time
      clusters.set(n, c);
    }
    return c;
  };

  const kernelSkipped = (st: VariantState, bc: BenchCluster): boolean => {
    if (st.kernelError) return true;
    return st.overCapAt !== undefined && bc.services >= st.overCapAt;
  };
  const markOver = (st: VariantState, bc: BenchCluster) => {
    st.overCapAt = Math.min(st.overCapAt ?? Infinity, bc.services);
    progress.note(`kpb bench: ${st.id} at ${bc.services} services ran past the ${o.capSeconds}s cap: its kernel figures stop here`);
  };
  const kernelFailed = (st: VariantState, what: string, e: unknown) => {
    st.kernelError = `${what}: ${describeError(e)}`;
    progress.note(`kpb bench: ${st.id}: ${st.kernelError} (no more kernel figures for it)`);
  };

  // ---------- the figures ----------

  const generate = async (st: VariantState, bc: BenchCluster) => {
    const b = st.backend!;
    const builder = st.v.backend === 'nftnl' ? batchBuilder(b) : undefined;
    const render = builder ? (p: Plan) => builder.fn(p) : (p: Plan) => b.renderText(p);
    if (st.v.backend === 'nftnl') {
      const note = builder ? `batch built with ${builder.name}()` : 'no batch builder exposed by the backend: renderText (nft script) measured';
      collector.note(st, bc, 'generate', 'ms', note);
      collector.note(st, bc, 'render', 'ms', note);
    }
    const bench = new Bench({
      time: o.generateMs,
      iterations: o.quick ? 2 : 3,
      warmup: true,
      warmupIterations: 1,
      warmupTime: 0,
      retainSamples: true,
      throws: true,
    });
    bench.add('generate', () => {
      render(compile(bc.cluster, bc.settings));
    });
    bench.add('render', () => {
      render(bc.plan);
    });
    await bench.run();
    for (const t of bench.tasks) {
      const r = t.result;
      if (r.state === 'completed' && r.latency.samples) collector.add(st, bc, t.name, 'ms', ...r.latency.samples);
    }
  };

  const cycle = async (st: VariantState, bc: BenchCluster, record: boolean) => {
    const b = st.backend!;
    const ns = await benchNamespace();
    const target: Target = { kind: 'netns', name: ns };
    const onCap = async () => {
      await killInNamespace(ns);
    };
    const over = (op: string) => {
      if (record) collector.over(st, bc, op, 'ms');
      markOver(st, bc);
    };
    try {
      for (const op of ['full-sync', 'resync'] as const) {
        const r = await capped(async () => {
          const t0 = performance.now();
          const plan = compile(bc.cluster, bc.settings);
          const compileMs = performance.now() - t0;
          return { res: await b.apply(target, plan), compileMs };
        }, capMs, onCap);
        if (!r.ok) return over(op);
        if (!record) continue;
        const kernelMs = r.value.res.timings.kernel;
        collector.add(st, bc, op, 'ms', r.ms);
        collector.add(st, bc, `${op}/kernel`, 'ms', kernelMs);
        collector.add(st, bc, `${op}/userspace`, 'ms', Math.max(0, r.ms - kernelMs));
        if (op === 'full-sync') collector.add(st, bc, 'full-sync/userspace-share', '%', (100 * Math.max(0, r.ms - kernelMs)) / r.ms);
      }
      let cur = bc.plan;
      const syncTo = async (op: string, to: Plan, timed: boolean): Promise<boolean> => {
        const from = cur;
        const r = await capped(() => b.sync(target, from, to), capMs, onCap);
        if (!r.ok) {
          over(op);
          return false;
        }
        cur = to;
        if (timed && record) {
          collector.add(st, bc, op, 'ms', r.ms);
          if (r.value.mode !== 'incremental') collector.note(st, bc, op, 'ms', `sync did a full apply: ${r.value.reason ?? 'no reason given'}`);
        }
        return true;
      };
      if (allows(st.v, 'incremental-1')) {
        for (let i = 0; i < o.incrementalSamples; i++) {
          if (!(await syncTo('incremental-1', cur === bc.plan ? bc.plusOne : bc.plan, true))) return;
        }
        if (cur !== bc.plan && !(await syncTo('incremental-1', bc.plan, false))) return;
      }
      if (allows(st.v, 'churn-1pct')) {
        if (!(await syncTo('churn-1pct', bc.churn, true))) return;
        if (!(await syncTo('churn-1pct', bc.plan, true))) return;
        if (record) collector.note(st, bc, 'churn-1pct', 'ms', `${bc.churnCount} services change (an endpoint added, then removed)`);
      }
      if (allows(st.v, 'verify')) {
        const r = await capped(() => b.verify(target, bc.plan), capMs, onCap);
        if (!r.ok) return over('verify');
        if (record) {
          collector.add(st, bc, 'verify', 'ms', r.ms);
          if (!r.value.ok) {
            const d = r.value.differences;
            collector.note(st, bc, 'verify', 'ms', `verify reported ${d.length} difference(s), e.g. ${d[0]?.kind} ${d[0]?.object}`);
          }
        }
      }
      if (allows(st.v, 'flush')) {
        const r = await capped(() => b.flush(target), capMs, onCap);
        if (!r.ok) return over('flush');
        if (record) collector.add(st, bc, 'flush', 'ms', r.ms);
      }
    } catch (e) {
      kernelFailed(st, 'load/sync in a namespace', e);
    } finally {
      await dropNamespace(ns).catch((e: unknown) => progress.note(`kpb bench: cannot delete ${ns}: ${describeError(e)}`));
    }
  };

  const runAgent = async (ns: string, dst: string, count: number): Promise<{ samples: number[]; failures: Record<string, number> }> => {
    const res = await execIn(
      ns,
      [process.execPath, AGENT, '--dst', dst, '--port', String(PROBE_SERVICE_PORT), '--count', String(count), '--warmup', '3', '--timeout-ms', '1000'],
      { timeoutMs: (count + 3) * 1100 + 10_000 },
    );
    return JSON.parse(res.stdout.trim().split('\n').pop() ?? '{}') as { samples: number[]; failures: Record<string, number> };
  };

  const latency = async (st: VariantState, bc: BenchCluster) => {
    const b = st.backend!;
    const c = await ensureVC();
    const target: Target = { kind: 'netns', name: c.nodeNs };
    const r = await capped(() => b.apply(target, bc.plan), capMs, dropVC);
    if (!r.ok) {
      collector.over(st, bc, 'first-packet-first', 'us');
      collector.over(st, bc, 'first-packet-last', 'us');
      markOver(st, bc);
      return;
    }
    try {
      const batches = Math.min(o.quick ? 2 : 4, o.latencyCount);
      const per = Math.max(1, Math.floor(o.latencyCount / batches));
      for (let i = 0; i < batches; i++) {
        const order: ['first-packet-first' | 'first-packet-last', string][] = [
          ['first-packet-first', bc.firstIP],
          ['first-packet-last', bc.lastIP],
        ];
        if (i % 2) order.reverse();
        for (const [op, ip] of order) {
          const got = await runAgent(c.clientNs, ip, per);
          collector.add(st, bc, op, 'us', ...got.samples);
          const f = Object.entries(got.failures);
          if (f.length) collector.note(st, bc, op, 'us', `failed connects: ${f.map(([k, n]) => `${k}×${n}`).join(', ')}`);
        }
      }
      collector.note(st, bc, 'first-packet-first', 'us', `${bc.firstKey} (${bc.firstIP}), first service port of the plan`);
      collector.note(st, bc, 'first-packet-last', 'us', `${bc.lastKey} (${bc.lastIP}), last service port of the plan`);
    } finally {
      const f = await capped(() => b.flush(target), capMs).catch(() => ({ ok: false as const, ms: 0 }));
      if (!f.ok) await dropVC();
    }
  };

  const rss = async (st: VariantState, bc: BenchCluster) => {
    const ns = await benchNamespace();
    try {
      const arg = JSON.stringify({ backend: st.v.backend, layout: st.v.layout, services: bc.services, endpoints: bc.endpointsPerService, seed: o.seed, ns });
      const child = spawn(process.execPath, ['--import', 'tsx', RSS_CHILD, arg], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
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
      const r = await capped(() => exited, capMs, async () => {
        child.kill('SIGKILL');
        await killInNamespace(ns);
      });
      off();
      if (!r.ok) {
        collector.over(st, bc, 'rss-peak', 'MB');
        collector.note(st, bc, 'rss-peak', 'MB', `child killed at the ${o.capSeconds}s cap (it includes tsx start-up)`);
        return;
      }
      if (r.value !== 0) throw new Error(`rss child exited ${r.value}: ${err.trim().slice(0, 300)}`);
      const got = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { vmHWMkB: number };
      collector.add(st, bc, 'rss-peak', 'MB', got.vmHWMkB / 1024);
    } finally {
      await dropNamespace(ns).catch(() => {});
    }
  };

  // ---------- the round-robin ----------

  try {
    for (let round = 0; round < rounds && !isAborted(); round++) {
      const warm = round < o.warmup;
      const label = warm ? `warm-up ${round + 1}/${o.warmup}` : `repeat ${round - o.warmup + 1}/${o.repeats}`;
      for (const n of scales) {
        if (isAborted()) break;
        const bc = clusterFor(n);
        // Rotate the order every round so that no variant always goes first.
        const order = live.map((_, i) => live[(i + round) % live.length]!);
        for (const st of order) {
          if (isAborted()) break;
          const step = (what: string) => progress.step(`${label} · ${n} svc × ${o.endpointsPerService} · ${st.id} · ${what}`);
          const wanted = (g: string) => !o.figures || o.figures.includes(g);
          if (!warm && !wanted('generate')) progress.advance();
          else if (!warm) {
            step('generate');
            try {
              await generate(st, bc);
            } catch (e) {
              collector.note(st, bc, 'generate', 'ms', `failed: ${describeError(e)}`);
            }
            progress.advance();
          }
          if (!kernel) continue;
          for (const [what, fn] of [
            ['sync cycle', () => cycle(st, bc, !warm)],
            ...(warm ? [] : [['first packet', () => latency(st, bc)], ['rss-peak', () => rss(st, bc)]]),
          ] as [string, () => Promise<void>][]) {
            if (isAborted()) break;
            if (!wanted(what === 'sync cycle' ? 'sync' : what === 'first packet' ? 'first-packet' : 'rss-peak')) {
              progress.advance();
              continue;
            }
            if (what !== 'sync cycle' && !allows(st.v, what === 'rss-peak' ? 'rss-peak' : 'first-packet-first')) {
              progress.advance();
              continue;
            }
            if (kernelSkipped(st, bc)) {
              if (!warm && !st.kernelError) {
                for (const [op, unit] of what === 'sync cycle' ? KERNEL_CYCLE_OPS : what === 'rss-peak' ? ([['rss-peak', 'MB']] as const) : ([['first-packet-first', 'us'], ['first-packet-last', 'us']] as const)) {
                  if (!allows(st.v, op)) continue;
                  collector.over(st, bc, op, unit);
                  collector.note(st, bc, op, unit, `not run: over the ${o.capSeconds}s cap at ${st.overCapAt} services`);
                }
              }
              progress.advance();
              continue;
            }
            step(what);
            try {
              await fn();
            } catch (e) {
              kernelFailed(st, what, e);
            }
            progress.advance();
          }
        }
      }
    }
  } finally {
    await dropVC();
    offVC();
  }

  const parameters: RunParameters = {
    services: scales,
    endpointsPerService: o.endpointsPerService,
    repeats: o.repeats,
    warmup: o.warmup,
    seed: o.seed,
    capSeconds: o.capSeconds,
    quick: o.quick,
    command: o.command,
    durationSeconds: Math.round((performance.now() - started) / 1000),
  };
  const backends: BackendStatus[] = states.map((s) => (s.kernelError ? { ...s.status, kernelError: s.kernelError } : s.status));
  const results: ResultsFile = {
    schema: SCHEMA,
    environment: collectEnvironment(REPO_ROOT, { ok: kernel, ...(kernelReason ? { reason: kernelReason } : {}) }, loadStart),
    parameters,
    backends,
    results: collector.rows(),
  };
  mkdirSync(o.out, { recursive: true });
  const file = path.join(o.out, 'results.json');
  writeFileSync(file, `${JSON.stringify(results, null, 1)}\n`);
  progress.finish(`kpb bench: ${results.results.length} figures written to ${file}`);
  return { file, results };
}
