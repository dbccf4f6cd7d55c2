/**
 * @kpb/backend-nft: kube-proxy's nftables mode as an NftRuleset object model, `nft -f` scripts
 * in three layouts (`flat`, `kube-proxy`, `maps`), atomic apply, read-back/verify, incremental sync, flush
 * and an in-memory tracer.
 */
export type * from './ruleset.ts';
export { checkReferences, isAddrOrCidr } from './ruleset.ts';
export { buildRuleset, streamRuleset, servicePortChainBase, endpointChainBase, nftFamily } from './build.ts';
export type { RulesetStream } from './build.ts';
export {
  renderScript, renderCanonical, printCanon, formatRule, mergeAddrs, normalizeRuleText,
  sortAddrs, ScriptWriter, RenderError, tableCanon, chainCanon, setCanon, mapCanon, dataMapCanon, formatDataElement, sortCanon, canonOrder,
} from './render.ts';
export type { CanonObject } from './render.ts';
export { canonicalizeListing, parseCanon, compareObject, canonKey } from './canonical.ts';
export { diffRulesets, renderOps, describeOp } from './diff.ts';
export { writeOps, writeReplace } from './ops.ts';
export { STREAM_PARTS, writeStreamReplace } from './stream.ts';
export type { StreamPart } from './stream.ts';
export type { NftOp, NftSink } from './ops.ts';
export { createNftBackend } from './backend.ts';
export { commonServicePort, PREBUILT_COUNTS } from './maps.ts';
export { TABLE, diffChangedServicePorts, rulesetBuilder, rulesetMethods } from './table.ts';
export type { NftBackend } from './backend.ts';
export { commitBinding, nativeGeneration } from './binding.ts';
export { cannotTrace, localAddresses, noKpbRules, otherTablesNotes, packetFamily, traceReadBack } from './trace-target.ts';
export type { CommitBinding, GenerationCheck, ReadGeneration } from './binding.ts';
