/**
 * The `nft` backend: builds the NftRuleset, renders it as one `nft -f -` script and runs it in
 * the target. Only kpb's own table (`ip kube-proxy` / `ip6 kube-proxy`) is ever touched.
 */
import { countLines, runSync, runTool as realRunTool, systemClock } from '@kpb/backend';
import type { ApplyResult, Backend, BackendPorts, Clock, RunTool, SyncHooks, Target } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
import { canonicalizeListing } from './canonical.ts';
import { diffRulesets, renderOps } from './diff.ts';
import { renderCanonical, renderScript } from './render.ts';
import type { NftFamily, NftLayout, NftRuleset } from './ruleset.ts';
import { listingDifferences, listingHolds, listTable, rulesetBuilder, rulesetMethods, TABLE } from './table.ts';

export interface NftBackendOptions {
  /** `flat` (default): no anonymous set per service. `kube-proxy`: kube-proxy's numgen vmaps. */
  readonly layout?: NftLayout;
  /** See `BuildOptions.clusterIPsCheck` (default false). */
  readonly clusterIPsCheck?: boolean;
  /** Kill `nft` after this many milliseconds (default 10 minutes). */
  readonly timeoutMs?: number;
  /**
   * Skip the drift check in `sync` (reading the table back and comparing it with `from`). The
   * check costs one `nft list table`, which dominates a small sync at scale. Default false.
   */
  readonly trustKernel?: boolean;
  /** Tool runner and clock (the real ones by default). */
  readonly ports?: BackendPorts;
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
  readonly trustKernel: boolean;
}

const runNft = (ctx: NftContext, target: Target, script: string) => ctx.runTool(target, 'nft', ['-f', '-'], { timeoutMs: ctx.timeoutMs, input: script });

async function applyRuleset(ctx: NftContext, target: Target, plan: Plan): Promise<ApplyResult> {
  const t0 = ctx.clock();
  const script = renderScript(ctx.build(plan));
  const t1 = ctx.clock();
  await runNft(ctx, target, script);
  const t2 = ctx.clock();
  return { timings: { render: t1 - t0, kernel: t2 - t1 }, size: { unit: 'lines', count: countLines(script) } };
}

/** The sync hooks: drift check by `nft list table`, update as an `nft -f` script of the ruleset diff. */
function syncHooks(ctx: NftContext, target: Target): SyncHooks<string> {
  return {
    applyFull: (to) => applyRuleset(ctx, target, to),
    async checkDrift(from) {
      if (ctx.trustKernel) return { holdsFrom: true };
      const before = ctx.build(from);
      return listingHolds(await listTable(ctx.runTool, target, before.family, ctx.timeoutMs), before);
    },
    diff(from, to) {
      const after = ctx.build(to);
      const diff = diffRulesets(ctx.build(from), after);
      return diff.fullReason ? { fullReason: diff.fullReason } : { update: renderOps(diff.ops, after.family, after.table) };
    },
    async send(script) {
      const t0 = ctx.clock();
      if (script) await runNft(ctx, target, script);
      return { timings: { render: 0, kernel: ctx.clock() - t0 }, size: { unit: 'lines', count: countLines(script) } };
    },
  };
}

export function createNftBackend(options: NftBackendOptions = {}): NftBackend {
  const layout: NftLayout = options.layout ?? 'flat';
  const ctx: NftContext = {
    build: rulesetBuilder({ layout, clusterIPsCheck: options.clusterIPsCheck ?? false }),
    runTool: options.ports?.runTool ?? realRunTool,
    clock: options.ports?.clock ?? systemClock,
    timeoutMs: options.timeoutMs ?? 600_000,
    trustKernel: options.trustKernel ?? false,
  };
  const { build } = ctx;
  const readFamily = async (target: Target, family: NftFamily): Promise<string> =>
    canonicalizeListing(await listTable(ctx.runTool, target, family, ctx.timeoutMs));

  return {
    name: 'nft',
    variant: layout,
    build,
    renderCanonical: (plan) => renderCanonical(build(plan)),
    ...rulesetMethods(build, async (target, rs) => listingDifferences(await listTable(ctx.runTool, target, rs.family, ctx.timeoutMs), rs)),
    apply: (target, plan) => applyRuleset(ctx, target, plan),
    sync: (target, from, to) => runSync(syncHooks(ctx, target), from, to, ctx.clock),

    async readBack(target: Target): Promise<string> {
      const parts = await Promise.all((['ip', 'ip6'] as const).map((f) => readFamily(target, f)));
      return parts.join('');
    },

    async flush(target: Target): Promise<void> {
      // add + delete: never fails when the table does not exist; other tables are untouched.
      const script = (['ip', 'ip6'] as const).map((f) => `add table ${f} ${TABLE}\ndelete table ${f} ${TABLE}\n`).join('');
      await runNft(ctx, target, script);
    },
  };
}
