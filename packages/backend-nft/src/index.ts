/**
 * @kpb/backend-nft: kube-proxy's nftables mode as an NftRuleset object model, `nft -f` scripts
 * in two layouts (`flat`, `kube-proxy`), atomic apply, read-back/verify, incremental sync, flush
 * and an in-memory tracer.
 */
export type * from './ruleset.ts';
export { NAME_RE, COMMENT_RE, checkReferences, ruleChainRefs, ruleSetRefs, verdictChain, isAddrOrCidr } from './ruleset.ts';
export {
  buildRuleset,
  NAMES,
  hashAndTruncate,
  servicePortChainBase,
  endpointChainBase,
  servicePortChainNames,
  nftEndpointChainName,
  affinitySetName,
  nftFamily,
} from './build.ts';
export type { BuildOptions, ServicePortNames } from './build.ts';
export {
  renderScript,
  renderCanonical,
  canonicalObjects,
  printCanon,
  formatStatement,
  formatRule,
  formatVerdict,
  formatKey,
  formatMapElement,
  mergeAddrs,
  normalizeRuleText,
  sortAddrs,
  ScriptWriter,
  RenderError,
  ELEMENTS_PER_COMMAND,
} from './render.ts';
export type { CanonObject } from './render.ts';
export { parseListing, canonicalizeListing, parseCanon, compareCanon, parsePriority, parseDuration } from './canonical.ts';
export { diffRulesets, renderOps, describeOp } from './diff.ts';
export type { RulesetDiff } from './diff.ts';
export { writeOps, writeReplace } from './ops.ts';
export type { NftOp, NftSink } from './ops.ts';
export { traceRuleset } from './trace.ts';
export type { TraceContext } from './trace.ts';
export { createNftBackend } from './backend.ts';
export { TABLE, rulesetBuilder, listTable, listingHolds } from './table.ts';
export type { NftBackend, NftBackendOptions } from './backend.ts';
