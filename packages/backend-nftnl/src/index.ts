/**
 * @kpb/backend-nftnl: the nft backend's NftRuleset sent through the native addon (libnftnl) as
 * one netlink batch — byte-identical `nft list ruleset` to `nft -f` of the same ruleset.
 */
export { createNftnlBackend } from './backend.ts';
export type { NftnlBackend, NftnlBackendOptions } from './backend.ts';
export type { NetlinkPort } from './transport.ts';
