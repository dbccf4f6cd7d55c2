/**
 * The iptables backend: apply / readBack / verify / sync / flush / trace. The kernel side (save,
 * restore, rollback) is in tables.ts; the sync is the shared skeleton with iptables hooks.
 * iptables-nft's rules are nf_tables objects: each commit is bound to the ruleset generation
 * (@kpb/backend-nft's binding), so a sync whose record still holds reads nothing back.
 * iptables-legacy has no generation and reads back at each sync.
 */
import { ALL_FAMILIES, commitRecords, familyPlans, fileStateStore, joinApplied, planDigest, runSync, runTool as realRunTool, syncFamilies, systemClock, ToolError, traceFamilies, updateDigest, verifyFamilies } from '@kpb/backend';
import type { ApplyResult, Backend, BackendPorts, Difference, DriftCheck, Plans, StateStore, SyncHooks, Target, TracePacket, TraceResult, VerifyResult } from '@kpb/backend';
import { commitBinding, nativeGeneration } from '@kpb/backend-nft';
import type { GenerationCheck, ReadGeneration } from '@kpb/backend-nft';
import type { Plan } from '@kpb/compiler';
import type { IPFamily } from '@kpb/model';
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
  await ctx.binding?.committed(target, [{ plan, digest: planDigest(plan) }], r.before, r.steps);
  return { timings: { render, kernel: r.kernel, other: r.other + (ctx.clock() - t1) }, size: { unit: 'lines', count: r.lines, bytes: r.bytes } };
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
      await ctx.binding?.committed(target, [{ plan: to, digest: updateDigest(planDigest(from), to, changes) }], generation?.at, restoreSteps(partial.text));
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
  return iptablesBackend(tablesContext(options));
}

/** The restore input of each family, IPv4 first; with both, each after a comment naming its tool. */
export function familiesText(plans: Plans, text: (plan: Plan) => string): string {
  const list = familyPlans(plans);
  if (list.length === 1) return text(list[0]!);
  return list.map((plan) => `# ${plan.family}: ${plan.family === 'IPv6' ? 'ip6tables' : 'iptables'}-restore input\n${text(plan)}`).join('');
}

/** Apply each family with `applyOne`, IPv4 first: one restore per family, not one transaction. */
export async function applyFamilies(plans: Plans, applyOne: (plan: Plan) => Promise<ApplyResult>): Promise<ApplyResult> {
  const parts: { family: IPFamily; result: ApplyResult }[] = [];
  for (const plan of familyPlans(plans)) parts.push({ family: plan.family, result: await applyOne(plan) });
  return joinApplied(parts);
}

/**
 * kpb's chains of both families, as iptables-save prints them (ip6tables' after iptables'); a
 * family that holds none of kpb's chains is left out (its tables may exist, empty), and with
 * nothing of kpb's anywhere the IPv4 text stands for both.
 */
async function readBoth(ctx: TablesContext, target: Target): Promise<string> {
  const texts = [];
  for (const family of ALL_FAMILIES) texts.push(await readOwned(ctx, target, family));
  const holding = texts.filter((t) => /^[:-]/m.test(t));
  return holding.length > 0 ? holding.join('') : texts[0]!;
}

/** Remove kpb's chains of each family (one restore per family), and the commit records. */
async function flushFamilies(ctx: TablesContext, target: Target, families: readonly IPFamily[]): Promise<void> {
  for (const family of families) await replaceOwned(ctx, target, family, undefined);
  ctx.binding?.forget(target);
}

/** The iptables backend over a context (the --noflush backend shares its context with it). */
export function iptablesBackend(ctx: TablesContext): Backend {
  async function verify(target: Target, plan: Plan): Promise<VerifyResult> {
    const differences = await savedDifferences(ctx, target, plan);
    return { ok: differences.length === 0, differences };
  }

  return {
    name: 'iptables',
    variant: ctx.variant,
    renderText: (plans) => familiesText(plans, (plan) => rulesetText(renderRuleset(plan))),
    apply: (target, plans) => applyFamilies(plans, (plan) => applyPlan(ctx, target, plan)),
    sync: (target, from, to) =>
      syncFamilies(from, to, (f, t) => runSync(syncHooks(ctx, target), f, t, ctx.clock), (families) => flushFamilies(ctx, target, families)),
    readBack: (target: Target) => readBoth(ctx, target),
    verify: (target, plans) => verifyFamilies(plans, (plan) => verify(target, plan)),
    flush: (target, families = ALL_FAMILIES) => flushFamilies(ctx, target, families),
    trace: (plans, packet: TracePacket): TraceResult => traceFamilies(plans, packet, (plan) => trace(plan, packet)),
    traceTarget: (target, packet) => traceTablesTarget(ctx, target, packet),
  };
}
