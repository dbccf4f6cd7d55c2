/**
 * The listing tools alone, timed beside kpb's verify and drift check so that the report can say
 * how much of a read-back is the tool or the kernel and how much is kpb: `nft list table` (nft,
 * nftnl), the variant's `iptables-save`, and for nftnl the addon's `listRuleset`. They run
 * through the same tool runner as the backends.
 */
import { runTool, type Target } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
import { nftFamily, TABLE } from '@kpb/backend-nft';
import { listRuleset } from '@kpb/native';
import type { Variant } from './backends.ts';

/** Milliseconds of each listing, taken one after the other. */
export interface ListingTimes {
  /** The listing tool: `nft list table <family> kube-proxy` or `iptables-<variant>-save`. */
  readonly tool: number;
  /** nftnl: the addon's `listRuleset` of the same table. */
  readonly addon?: number;
  /** The one the backend reads with (the addon for nftnl, the tool for the others). */
  readonly backendReads: number;
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

export async function timeListings(v: Variant, target: Target, plan: Plan, timeoutMs: number): Promise<ListingTimes> {
  const [tool, args] = listingTool(v, plan);
  const toolMs = await timed(() => runTool(target, tool, args, { timeoutMs }));
  if (v.backend !== 'nftnl') return { tool: toolMs, backendReads: toolMs };
  const netns = target.kind === 'netns' ? target.name : null;
  const addonMs = await timed(async () => {
    const listing = await listRuleset(netns, nftFamily(plan), TABLE);
    if (!listing.exists) throw new Error(`the addon lists no ${nftFamily(plan)} ${TABLE} table: nothing loaded to time`);
  });
  return { tool: toolMs, addon: addonMs, backendReads: addonMs };
}
