export { createIptablesBackend } from './backend.ts';
export type { IptablesBackendOptions } from './backend.ts';
export { iptablesTools } from './tables.ts';
export type { IptablesVariant } from './tables.ts';
export { createNoflushBackend } from './noflush.ts';
export {
  renderRuleset,
  renderText,
  rulesetText,
  tableLines,
  countRules,
  compareNames,
  LARGE_CLUSTER_ENDPOINTS,
} from './render.ts';
export type { RenderedRuleset, RenderedTable } from './render.ts';
export { quote, hostCIDR, probability, normaliseProbability, statisticFraction, hexMark } from './canonical.ts';
export {
  servicePortHash,
  endpointChainName,
  clearNameCache,
  BUILTIN_CHAINS,
  TOP_LEVEL_CHAINS,
  TABLES,
} from './names.ts';
export type { TableName } from './names.ts';
export {
  parseSave,
  ownedTable,
  ownedText,
  holdsOwned,
  mergedRestoreInput,
  snapshotRestoreInput,
  normaliseRule,
  isOwnedRule,
  tokenize,
  ruleTarget,
} from './saved.ts';
export type { SavedTable, SavedRule } from './saved.ts';
export { partialRestoreInput } from './sync.ts';
export type { PartialInput } from './sync.ts';
export { diffCanonical, parseCanonical } from './verify.ts';
export { trace, traceRules, parseRules, parseRule } from './trace.ts';
export type { ParsedRule, ParsedTables } from './trace.ts';
