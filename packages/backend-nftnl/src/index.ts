/**
 * @kpb/backend-nftnl: the nft backend's NftRuleset sent through the native addon (libnftnl) as
 * one netlink batch — byte-identical `nft list ruleset` to `nft -f` of the same ruleset.
 */
export { createNftnlBackend, TABLE, STATE_DIR } from './backend.ts';
export type { NftnlBackend, NftnlBackendOptions, NftnlPorts } from './backend.ts';
export type { NetlinkPort } from './transport.ts';
export { NftnlEncoder, estimateBytes } from './encode.ts';
export type { EncodeHooks } from './encode.ts';
export { listingToCanon, TABLE_COMMENT } from './decode.ts';
