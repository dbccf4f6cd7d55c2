/**
 * @kpb/backend-nftnl: the nft backend's NftRuleset sent through the native addon (libnftnl) as
 * one netlink batch — byte-identical `nft list ruleset` to `nft -f` of the same ruleset.
 */
export { createNftnlBackend, TABLE, STATE_DIR } from './backend.ts';
export type { NftnlBackend, NftnlBackendOptions } from './backend.ts';
export { NftnlEncoder, estimateBytes } from './encode.ts';
export type { EncodeHooks } from './encode.ts';
export { listingToCanon, TABLE_COMMENT } from './decode.ts';
export { fastDiffPlans, sameValue, planDigest, updateDigest, digestText } from './plan-diff.ts';
export type { FastChanges, PlanDigest } from './plan-diff.ts';
