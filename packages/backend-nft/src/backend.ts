/**
 * The `nft` backend: builds the NftRuleset, renders it as one `nft -f -` script and runs it in
 * the target. Only kpb's own table (`ip kube-proxy` / `ip6 kube-proxy`) is ever touched. Each
 * commit is bound to the ruleset generation (binding.ts), so a sync whose record still holds
 * sends only the change, without reading the table back.
 */
import { ALL_FAMILIES, commitRecords, countLines, familyPlans, fileStateStore, planDigest, runSync, runTool as realRunTool, syncFamilies, systemClock, updateDigest } from '@kpb/backend';
import type { ApplyResult, Backend, BackendPorts, Clock, Plans, RunTool, StateStore, SyncHooks, Target } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
import type { IPFamily } from '@kpb/model';
import { commitBinding, nativeGeneration } from './binding.ts';
import type { CommitBinding, CommittedPlan, GenerationCheck, ReadGeneration } from './binding.ts';
import { canonicalizeListing } from './canonical.ts';
import { renderOps } from './diff.ts';
import { nftFamily } from './build.ts';
import { renderCanonical, renderScript } from './render.ts';
import type { NftFamily, NftLayout, NftRuleset } from './ruleset.ts';
import { diffChangedServicePorts, listingDifferences, listingHolds, listTable, rulesetBuilder, rulesetMethods, TABLE } from './table.ts';
import { traceNftTarget } from './trace-target.ts';

/**
 * Generation steps of one `nft -f` script, measured on Linux 6.18 with nft 1.0.6: +1 whatever
 * its size (one transaction: a full apply of add/delete/define table, 20 or 2000 services, an
 * incremental script, a flush of both families).
 */
const NFT_SCRIPT_STEPS = 1;

interface NftPorts extends BackendPorts {
  /** The ruleset generation (the native addon's by default). */
  readonly generation?: ReadGeneration;
  /** Where the commit records go (files in `stateDir` by default). */
  readonly state?: StateStore;
}

export interface NftBackendOptions {
  /** `flat` (default): no anonymous set per service. `kube-proxy`: kube-proxy's numgen vmaps. `maps`: common services as shared set and data-map elements (maps.ts). */
  readonly layout?: NftLayout;
  /** Kill `nft` after this many milliseconds (default 10 minutes). */
  readonly timeoutMs?: number;
  /** Directory of the state files (default `/run/kpb/state`); ignored when `ports.state` is given. */
  readonly stateDir?: string;
  /** Tool runner, clock, generation and state store (the real ones by default). */
  readonly ports?: NftPorts;
}

export interface NftBackend extends Backend {
  /** The ruleset this backend builds for a plan. */
  build(plan: Plan): NftRuleset;
  /** Canonical text of what the plan loads (equal to `readBack` after `apply`). */
  renderCanonical(plan: Plan): string;
}

/** What the nft backend's parts share. */
interface NftContext {
  readonly build: (plan: Plan) => NftRuleset;
  readonly runTool: RunTool;
  readonly clock: Clock;
  readonly timeoutMs: number;
  readonly binding: CommitBinding;
}

const runNft = (ctx: NftContext, target: Target, script: string) => ctx.runTool(target, 'nft', ['-f', '-'], { timeoutMs: ctx.timeoutMs, input: script });

/** Run `script` as kpb's commit that started at generation `before`, and record its plans if nobody else wrote meanwhile. */
async function commit(ctx: NftContext, target: Target, script: string, plans: () => readonly CommittedPlan[], before: number | undefined) {
  const t0 = ctx.clock();
  await runNft(ctx, target, script);
  const t1 = ctx.clock();
  await ctx.binding.committed(target, plans(), before, NFT_SCRIPT_STEPS);
  return { kernel: t1 - t0, other: ctx.clock() - t1 };
}

/** Every family's table replaced by ONE `nft -f` script: one transaction, atomic across families. */
async function applyRuleset(ctx: NftContext, target: Target, plans: Plans): Promise<ApplyResult> {
  const list = familyPlans(plans);
  const parts = list.map((plan) => {
    const t0 = ctx.clock();
    const script = renderScript(ctx.build(plan));
    return { family: plan.family, script, render: ctx.clock() - t0, count: countLines(script) };
  });
  const script = parts.map((p) => p.script).join('');
  const t1 = ctx.clock();
  const before = await ctx.binding.generation(target);
  const t2 = ctx.clock();
  const c = await commit(ctx, target, script, () => list.map((plan) => ({ plan, digest: planDigest(plan) })), before);
  const render = parts.reduce((ms, p) => ms + p.render, 0);
  return {
    timings: { render, kernel: c.kernel, other: t2 - t1 + c.other },
    size: { unit: 'lines', count: countLines(script), bytes: Buffer.byteLength(script) },
    ...(parts.length > 1 ? { families: parts.map(({ family, render, count }) => ({ family, render, count })) } : {}),
  };
}

/**
 * The sync hooks: a full apply when kpb's last commit was not kpb's alone; no read-back when
 * the commit records vouch for `from` at the current generation, else `nft list table` and a
 * compare; the update as an `nft -f` script of the ruleset diff.
 */
function syncHooks(ctx: NftContext, target: Target): SyncHooks<string> {
  /** What the drift check saw (the update's commit is bound to its generation), and `from`. */
  let checked: { readonly generation: GenerationCheck; readonly from: Plan } | undefined;
  return {
    applyFull: (to) => applyRuleset(ctx, target, to),
    planFullReason: (from) => ctx.binding.fullReason(target, from),
    async checkDrift(from) {
      const generation = await ctx.binding.check(target, from);
      checked = { generation, from };
      if (generation.trusted) return { holdsFrom: true };
      const before = ctx.build(from);
      return listingHolds(await listTable(ctx.runTool, target, before.family, ctx.timeoutMs), before, generation.why);
    },
    diff(from, to, changes) {
      const diff = diffChangedServicePorts(ctx.build, from, to, changes);
      return diff.fullReason ? { fullReason: diff.fullReason } : { update: renderOps(diff.ops, nftFamily(to), TABLE) };
    },
    async send(script, to, changes) {
      const { generation, from } = checked!;
      const sent = script ? await commit(ctx, target, script, () => [{ plan: to, digest: updateDigest(planDigest(from), to, changes) }], generation.at) : { kernel: 0, other: 0 };
      return { timings: { render: 0, kernel: sent.kernel, other: sent.other }, size: { unit: 'lines', count: countLines(script) } };
    },
  };
}

/** Delete kpb's table of each family in one script; add + delete never fails when a table is absent, other tables are untouched. */
async function flushTables(ctx: NftContext, target: Target, families: readonly IPFamily[]): Promise<void> {
  const script = families.map((f) => `add table ${f === 'IPv6' ? 'ip6' : 'ip'} ${TABLE}\ndelete table ${f === 'IPv6' ? 'ip6' : 'ip'} ${TABLE}\n`).join('');
  await runNft(ctx, target, script);
  ctx.binding.forget(target);
}

export function createNftBackend(options: NftBackendOptions = {}): NftBackend {
  const layout: NftLayout = options.layout ?? 'flat';
  const ports = options.ports ?? {};
  const ctx: NftContext = {
    build: rulesetBuilder({ layout }),
    runTool: ports.runTool ?? realRunTool,
    clock: ports.clock ?? systemClock,
    timeoutMs: options.timeoutMs ?? 600_000,
    binding: commitBinding(commitRecords(ports.state ?? fileStateStore(options.stateDir), 'nft'), layout, ports.generation ?? nativeGeneration),
  };
  const { build } = ctx;
  const readFamily = async (target: Target, family: NftFamily): Promise<string> =>
    canonicalizeListing(await listTable(ctx.runTool, target, family, ctx.timeoutMs));

  return {
    name: 'nft',
    variant: layout,
    build,
    renderCanonical: (plan) => renderCanonical(build(plan)),
    ...rulesetMethods(build, { read: (target, family) => listTable(ctx.runTool, target, family, ctx.timeoutMs), differences: listingDifferences }, { layout }),
    apply: (target, plans) => applyRuleset(ctx, target, plans),
    sync: (target, from, to) =>
      syncFamilies(from, to, (f, t) => runSync(syncHooks(ctx, target), f, t, ctx.clock), (families) => flushTables(ctx, target, families)),
    traceTarget: (target, packet) => traceNftTarget(ctx.runTool, target, packet, ctx.timeoutMs),

    async readBack(target: Target): Promise<string> {
      const parts = await Promise.all((['ip', 'ip6'] as const).map((f) => readFamily(target, f)));
      return parts.join('');
    },

    flush: (target, families = ALL_FAMILIES) => flushTables(ctx, target, families),
  };
}
