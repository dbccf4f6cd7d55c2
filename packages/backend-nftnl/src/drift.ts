/**
 * Drift detection without reading the kernel: `sync` trusts the kernel to hold `from` only when
 * the ruleset generation (NFT_MSG_GETGEN) is still the one recorded after our last commit and
 * `from` is the recorded plan; otherwise it lists the table through the addon and compares it
 * with `from`. Either way the check returns the generation it vouches for, which the update's
 * batch is then bound to (a writer in between makes the kernel refuse it).
 */
import { distrust, parseDigest, planDigest } from '@kpb/backend';
import type { CommitRecords, DriftCheck, PlanDigest, Target } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
import { nftFamily, TABLE } from '@kpb/backend-nft';
import type { NftLayout, NftRuleset } from '@kpb/backend-nft';
import { decodedHoldsRuleset } from './compare.ts';
import { listDecoded } from './decode.ts';
import { netnsOf } from './transport.ts';
import type { NetlinkPort } from './transport.ts';

export interface DriftContext {
  readonly layout: NftLayout;
  readonly build: (plan: Plan) => NftRuleset;
  readonly records: CommitRecords;
  readonly netlink: NetlinkPort;
}

export interface GenerationCheck {
  readonly drift: DriftCheck;
  /** The generation the check vouches for (the next commit, bound to it, makes it one more). */
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
  // The listing is consistent with one generation: the one the comparison vouches for.
  const { listing, table } = await listDecoded((options) => ctx.netlink.listRuleset(netnsOf(target), family, TABLE, options), { elements: false });
  return { drift: decodedHoldsRuleset(table, ctx.build(from), why), generation: listing.generation, fromDigest: planDigest(from) };
}
