/**
 * The iptables backend: apply / readBack / verify / sync / flush / trace. The kernel side (save,
 * restore, rollback) is in tables.ts; the sync is the shared skeleton with iptables hooks.
 */
import { runSync, runTool as realRunTool, systemClock, ToolError } from '@kpb/backend';
import type { ApplyResult, Backend, BackendPorts, SyncHooks, Target, TracePacket, TraceResult, VerifyResult } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
import { renderRuleset, rulesetText, type RenderedRuleset } from './render.ts';
import { partialRestoreInput } from './sync.ts';
import type { PartialInput } from './sync.ts';
import { readOwned, replaceOwned, restore, restoreFilter, save, saveFilter } from './tables.ts';
import type { IptablesVariant, TablesContext } from './tables.ts';
import { trace } from './trace.ts';
import { diffCanonical, diffSaved } from './verify.ts';

export interface IptablesBackendOptions {
  /** 'nft' (iptables-nft, default) or 'legacy'. */
  readonly variant?: IptablesVariant;
  /** Family for readBack/flush (apply, sync and verify use the plan's). Default IPv4. */
  readonly family?: 'IPv4' | 'IPv6';
  /** Kill a tool after this many milliseconds (default 10 minutes). */
  readonly timeoutMs?: number;
  /** Tool runner and clock (the real ones by default). */
  readonly ports?: BackendPorts;
}

async function applyPlan(ctx: TablesContext, target: Target, plan: Plan): Promise<ApplyResult> {
  const t0 = ctx.clock();
  const ruleset = renderRuleset(plan);
  const render = ctx.clock() - t0;
  const r = await replaceOwned(ctx, target, plan.family, ruleset);
  return { timings: { render, kernel: r.kernel, other: r.other }, size: { unit: 'lines', count: r.lines } };
}

/**
 * kube-proxy's partial sync (`iptables-restore --noflush` of the changed chains), after reading
 * the kernel back to check it holds `from`.
 */
function syncHooks(ctx: TablesContext, target: Target): SyncHooks<PartialInput> {
  // Both plans are rendered once per sync and used by every step.
  const rendered = new Map<Plan, RenderedRuleset>();
  const rules = (plan: Plan): RenderedRuleset => {
    let r = rendered.get(plan);
    if (!r) rendered.set(plan, (r = renderRuleset(plan)));
    return r;
  };
  return {
    applyFull: (plan) => applyPlan(ctx, target, plan),
    planFullReason: (from, to) =>
      rules(from).largeCluster !== rules(to).largeCluster ? 'large-cluster mode (endpoint comments) changed' : undefined,
    async checkDrift(from) {
      const found = await readOwned(ctx, target, from.family);
      const expected = rulesetText(rules(from));
      return found === expected ? { holdsFrom: true } : { holdsFrom: false, differences: diffCanonical(expected, found) };
    },
    diff(from, to, changes) {
      const partial = partialRestoreInput(rules(from), rules(to), changes);
      return { update: partial, changedServicePorts: [...partial.written, ...changes.removed] };
    },
    async send(partial, to, changes) {
      if (partial.written.length === 0 && partial.stale.length === 0 && changes.removed.length === 0) {
        return { timings: { render: 0, kernel: 0 }, size: { unit: 'lines', count: 0 } };
      }
      const t0 = ctx.clock();
      const filterBefore = partial.text.includes('*filter') ? await saveFilter(ctx, target, to.family) : '';
      const t1 = ctx.clock();
      try {
        await restore(ctx, target, to.family, partial.text, true);
      } catch (e) {
        // filter may have been committed before nat failed: put it back before the full apply.
        await restoreFilter(ctx, target, to.family, filterBefore);
        return { failed: e instanceof ToolError ? e.message : String(e) };
      }
      return { timings: { render: 0, kernel: ctx.clock() - t1, other: t1 - t0 }, size: { unit: 'lines', count: partial.lines } };
    },
  };
}

export function createIptablesBackend(options: IptablesBackendOptions = {}): Backend {
  const ctx: TablesContext = {
    variant: options.variant ?? 'nft',
    runTool: options.ports?.runTool ?? realRunTool,
    clock: options.ports?.clock ?? systemClock,
    timeoutMs: options.timeoutMs ?? 600_000,
  };
  const defaultFamily = options.family ?? 'IPv4';

  async function verify(target: Target, plan: Plan): Promise<VerifyResult> {
    const want = renderRuleset(plan);
    const differences = diffSaved(want, await save(ctx, target, plan.family));
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
    },
    trace: (plan: Plan, packet: TracePacket): TraceResult => trace(plan, packet),
  };
}
