/**
 * The iptables backend: apply / readBack / verify / sync / flush / trace. The kernel side (save,
 * restore, rollback) is in tables.ts; the sync is the shared skeleton with iptables hooks.
 * iptables-nft's rules are nf_tables objects: each commit is bound to the ruleset generation
 * (@kpb/backend-nft's binding), so a sync whose record still holds reads nothing back.
 * iptables-legacy has no generation and reads back at each sync.
 */
import { commitRecords, fileStateStore, planDigest, runSync, runTool as realRunTool, systemClock, ToolError, updateDigest } from '@kpb/backend';
import type { ApplyResult, Backend, BackendPorts, Difference, DriftCheck, StateStore, SyncHooks, Target, TracePacket, TraceResult, VerifyResult } from '@kpb/backend';
import { commitBinding, nativeGeneration } from '@kpb/backend-nft';
import type { GenerationCheck, ReadGeneration } from '@kpb/backend-nft';
import type { Plan } from '@kpb/compiler';
import { isLargeCluster, renderRuleset, rulesetText } from './render.ts';
import { filterRestoreInput, partialRestoreInput } from './sync.ts';
import type { PartialInput } from './sync.ts';
import { readOwned, replaceOwned, restore, restoreFilter, restoreSteps, saveFilter, saveText } from './tables.ts';
import type { IptablesVariant, TablesContext } from './tables.ts';
import { trace } from './trace.ts';
import { traceTablesTarget } from './trace-target.ts';
import { diffSavedText } from './verify.ts';

export interface IptablesBackendOptions {
  /** 'nft' (iptables-nft, default) or 'legacy'. */
  readonly variant?: IptablesVariant;
  /** Family for readBack/flush (apply, sync and verify use the plan's). Default IPv4. */
  readonly family?: 'IPv4' | 'IPv6';
  /** Kill a tool after this many milliseconds (default 10 minutes). */
  readonly timeoutMs?: number;
  /** Directory of the state files (default `/run/kpb/state`); ignored when `ports.state` is given. */
  readonly stateDir?: string;
  /** Tool runner, clock, and for iptables-nft the ruleset generation and state store (the real ones by default). */
  readonly ports?: IptablesPorts;
}

interface IptablesPorts extends BackendPorts {
  /** The ruleset generation (the native addon's by default). */
  readonly generation?: ReadGeneration;
  /** Where the commit records go (files in `stateDir` by default). */
  readonly state?: StateStore;
}

/** What kpb's part of the kernel lacks or has beyond `plan`: iptables-save, read while the plan renders, then one pass over it. */
async function savedDifferences(ctx: TablesContext, target: Target, plan: Plan): Promise<Difference[]> {
  const saved = saveText(ctx, target, plan.family);
  saved.catch(() => undefined); // awaited below; a failure is reported there, not as unhandled
  const want = renderRuleset(plan);
  return diffSavedText(want, await saved);
}

async function applyPlan(ctx: TablesContext, target: Target, plan: Plan): Promise<ApplyResult> {
  const t0 = ctx.clock();
  const ruleset = renderRuleset(plan);
  const render = ctx.clock() - t0;
  const r = await replaceOwned(ctx, target, plan.family, ruleset);
  const t1 = ctx.clock();
  await ctx.binding?.committed(target, plan, planDigest(plan), r.before, r.steps);
  return { timings: { render, kernel: r.kernel, other: r.other + (ctx.clock() - t1) }, size: { unit: 'lines', count: r.lines } };
}

/**
 * Does the kernel hold `from`? iptables-nft: yes without reading anything when the commit
 * records vouch for it (`generation`); otherwise (and always for legacy) read kpb's part back
 * and compare.
 */
async function checkHolds(ctx: TablesContext, target: Target, from: Plan, generation: GenerationCheck | undefined): Promise<DriftCheck> {
  if (generation?.trusted) return { holdsFrom: true };
  const because = generation?.why === undefined ? {} : { readBackBecause: generation.why };
  const differences = await savedDifferences(ctx, target, from);
  return differences.length === 0 ? { holdsFrom: true, ...because } : { holdsFrom: false, differences, ...because };
}

/**
 * How to put the filter table back if a partial sync's nat fails after filter's COMMIT. When the
 * commit records vouch for `from` (`trusted`), kpb's filter chains are rewritten from it (a
 * --noflush restore leaves everybody else's alone), so nothing is read; otherwise from a save of
 * the table taken now (iptables-nft-save -t filter lists every chain of every table: seconds at
 * 10k services).
 */
async function filterRollback(ctx: TablesContext, target: Target, from: Plan, trusted: boolean): Promise<() => Promise<void>> {
  if (trusted) return () => restore(ctx, target, from.family, filterRestoreInput(from), true).catch(() => undefined);
  const saved = await saveFilter(ctx, target, from.family);
  return () => restoreFilter(ctx, target, from.family, saved);
}

/**
 * kube-proxy's partial sync (`iptables-restore --noflush` of the changed chains), after
 * checking that the kernel holds `from` (checkHolds).
 */
function syncHooks(ctx: TablesContext, target: Target): SyncHooks<PartialInput> {
  /** What the drift check saw (the update's commit is bound to its generation), and `from`. */
  let checked: { readonly generation: GenerationCheck | undefined; readonly from: Plan } | undefined;
  return {
    applyFull: (plan) => applyPlan(ctx, target, plan),
    planFullReason: (from, to) =>
      isLargeCluster(from) !== isLargeCluster(to) ? 'large-cluster mode (endpoint comments) changed' : ctx.binding?.fullReason(target, from),
    async checkDrift(from) {
      checked = { generation: await ctx.binding?.check(target, from), from };
      return checkHolds(ctx, target, from, checked.generation);
    },
    diff(from, to, changes) {
      const partial = partialRestoreInput(from, to, changes);
      return { update: partial, changedServicePorts: [...partial.written, ...changes.removed] };
    },
    async send(partial, to, changes) {
      if (partial.written.length === 0 && partial.stale.length === 0 && changes.removed.length === 0) {
        return { timings: { render: 0, kernel: 0 }, size: { unit: 'lines', count: 0 } };
      }
      const { generation, from } = checked!;
      const t0 = ctx.clock();
      const putFilterBack = await filterRollback(ctx, target, from, generation?.trusted === true);
      const t1 = ctx.clock();
      try {
        await restore(ctx, target, to.family, partial.text, true);
      } catch (e) {
        // filter may have been committed before nat failed: put it back before the full apply.
        await putFilterBack();
        return { failed: e instanceof ToolError ? e.message : String(e) };
      }
      const t2 = ctx.clock();
      await ctx.binding?.committed(target, to, updateDigest(planDigest(from), to, changes), generation?.at, restoreSteps(partial.text));
      return { timings: { render: 0, kernel: t2 - t1, other: t1 - t0 + (ctx.clock() - t2) }, size: { unit: 'lines', count: partial.lines } };
    },
  };
}

/** What an iptables backend works with: its tools, and for iptables-nft the commit binding. */
export function tablesContext(options: IptablesBackendOptions): TablesContext {
  const variant = options.variant ?? 'nft';
  const ports = options.ports ?? {};
  return {
    variant,
    runTool: ports.runTool ?? realRunTool,
    clock: ports.clock ?? systemClock,
    timeoutMs: options.timeoutMs ?? 600_000,
    ...(variant === 'nft'
      ? { binding: commitBinding(commitRecords(ports.state ?? fileStateStore(options.stateDir), 'iptables-nft'), variant, ports.generation ?? nativeGeneration) }
      : {}),
  };
}

export function createIptablesBackend(options: IptablesBackendOptions = {}): Backend {
  return iptablesBackend(tablesContext(options), options.family);
}

/** The iptables backend over a context (the --noflush backend shares its context with it). */
export function iptablesBackend(ctx: TablesContext, family: IptablesBackendOptions['family']): Backend {
  const defaultFamily = family ?? 'IPv4';

  async function verify(target: Target, plan: Plan): Promise<VerifyResult> {
    const differences = await savedDifferences(ctx, target, plan);
    return { ok: differences.length === 0, differences };
  }

  return {
    name: 'iptables',
    variant: ctx.variant,
    renderText: (plan: Plan) => rulesetText(renderRuleset(plan)),
    apply: (target, plan) => applyPlan(ctx, target, plan),
    sync: (target, from, to) => runSync(syncHooks(ctx, target), from, to, ctx.clock),
    readBack: (target: Target) => readOwned(ctx, target, defaultFamily),
    verify,
    flush: async (target: Target) => {
      await replaceOwned(ctx, target, defaultFamily, undefined);
      ctx.binding?.forget(target);
    },
    trace: (plan: Plan, packet: TracePacket): TraceResult => trace(plan, packet),
    traceTarget: (target, packet) => traceTablesTarget(ctx, target, packet),
  };
}
