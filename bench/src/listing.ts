/**
 * The listing tools alone, timed beside kpb's verify and drift check so that the report can say
 * how much of a read-back is the tool or the kernel and how much is kpb: `nft list table` (nft,
 * nftnl), the variant's `iptables-save`, and for nftnl the addon's `listRuleset`. They run
 * through the same tool runner as the backends. With plans of several families (dual-stack),
 * each family's listing runs alone, one after the other, and the times add up (a sync reads the
 * families one after another); then the listings the backend reads with run at once, as verify
 * reads them (`verifyFamilies`).
 */
import { runTool, type Target } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
import { nftFamily, TABLE } from '@kpb/backend-nft';
import { listRuleset } from '@kpb/native';
import type { Variant } from './backends.ts';

/** Milliseconds of each listing, taken one after the other (summed over the families). */
export interface ListingTimes {
  /** The listing tool: `nft list table <family> kube-proxy` or `iptables-<variant>-save` (`ip6tables-…` for IPv6). */
  readonly tool: number;
  /** nftnl: the addon's `listRuleset` of the same table. */
  readonly addon?: number;
  /** The one the backend reads with (the addon for nftnl, the tool for the others). */
  readonly backendReads: number;
  /** Several families: the listings the backend reads with, all families at once (wall time). */
  readonly together?: number;
}

/** The tool and arguments that list what the variant's verify reads (see backend-iptables tables.ts). */
function listingTool(v: Variant, plan: Plan): [string, string[]] {
  if (v.backend !== 'iptables') return ['nft', ['list', 'table', nftFamily(plan), TABLE]];
  return [`${plan.family === 'IPv6' ? 'ip6tables' : 'iptables'}-${v.variant}-save`, []];
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

async function listTool(v: Variant, target: Target, plan: Plan, timeoutMs: number): Promise<void> {
  const [tool, args] = listingTool(v, plan);
  // The backends read a listing tool's output through a file (they build what they compare with meanwhile), so the tool alone is timed that way too.
  await runTool(target, tool, args, { timeoutMs, stdoutToFile: true });
}

async function listAddon(target: Target, plan: Plan): Promise<void> {
  const listing = await listRuleset(target.kind === 'netns' ? target.name : null, nftFamily(plan), TABLE);
  if (!listing.exists) throw new Error(`the addon lists no ${nftFamily(plan)} ${TABLE} table: nothing loaded to time`);
}

async function timeFamily(v: Variant, target: Target, plan: Plan, timeoutMs: number): Promise<ListingTimes> {
  const toolMs = await timed(() => listTool(v, target, plan, timeoutMs));
  if (v.backend !== 'nftnl') return { tool: toolMs, backendReads: toolMs };
  const addonMs = await timed(() => listAddon(target, plan));
  return { tool: toolMs, addon: addonMs, backendReads: addonMs };
}

export async function timeListings(v: Variant, target: Target, plans: readonly Plan[], timeoutMs: number): Promise<ListingTimes> {
  let sum: ListingTimes | undefined;
  for (const plan of plans) {
    const t = await timeFamily(v, target, plan, timeoutMs);
    sum = sum === undefined ? t : { tool: sum.tool + t.tool, backendReads: sum.backendReads + t.backendReads, ...(t.addon !== undefined ? { addon: (sum.addon ?? 0) + t.addon } : {}) };
  }
  if (sum === undefined) throw new RangeError('timeListings: no plan');
  if (plans.length === 1) return sum;
  const reads = (plan: Plan) => (v.backend === 'nftnl' ? listAddon(target, plan) : listTool(v, target, plan, timeoutMs));
  return { ...sum, together: await timed(() => Promise.all(plans.map(reads))) };
}
