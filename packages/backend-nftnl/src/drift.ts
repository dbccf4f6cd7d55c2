/**
 * Drift detection without reading the kernel: `sync` trusts the kernel to hold `from` only when
 * the ruleset generation (NFT_MSG_GETGEN) is still the one recorded after our last commit and
 * `from` is the recorded plan; otherwise it reads the table back (`nft list table`) and
 * compares it with `from`.
 */
import { distrust, parseDigest, planDigest } from '@kpb/backend';
import type { CommitRecords, DriftCheck, PlanDigest, RunTool, Target } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
import { listingHolds, listTable, nftFamily } from '@kpb/backend-nft';
import type { NftLayout, NftRuleset } from '@kpb/backend-nft';
import { netnsOf } from './transport.ts';
import type { NetlinkPort } from './transport.ts';

export interface DriftContext {
  readonly layout: NftLayout;
  readonly build: (plan: Plan) => NftRuleset;
  readonly records: CommitRecords;
  readonly netlink: NetlinkPort;
  readonly runTool: RunTool;
  readonly timeoutMs: number;
}

export interface GenerationCheck {
  readonly drift: DriftCheck;
  /** The generation the kernel is at now (the next commit makes it one more). */
  readonly generation: number;
  /** The digest of `from`, to update with the changes. */
  readonly fromDigest: PlanDigest;
}

export async function checkGeneration(ctx: DriftContext, target: Target, from: Plan): Promise<GenerationCheck> {
  const family = nftFamily(from);
  const rec = ctx.records.recall(target, family);
  const generation = await ctx.netlink.getGeneration(netnsOf(target));
  const why = distrust(rec, ctx.layout, generation, from);
  if (why === undefined) {
    // The plan object applied last: its digest is the recorded one (no need to hash it again).
    return { drift: { holdsFrom: true }, generation, fromDigest: rec!.plan === from ? parseDigest(rec!.digest) : planDigest(from) };
  }
  const listing = await listTable(ctx.runTool, target, family, ctx.timeoutMs);
  return { drift: listingHolds(listing, ctx.build(from), why), generation, fromDigest: planDigest(from) };
}
