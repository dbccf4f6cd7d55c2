export { createIptablesBackend } from './backend.ts';
export type { IptablesVariant } from './tables.ts';
export { createNoflushBackend } from './noflush.ts';
export { renderRuleset, renderText, rulesetText, countRules } from './render.ts';
export { quote, normaliseProbability } from './canonical.ts';
export { servicePortHash, endpointChainName, clearNameCache } from './names.ts';
export { parseSave, ownedText, mergedRestoreInput, snapshotRestoreInput, tokenize } from './saved.ts';
export { partialRestoreInput } from './sync.ts';
export { traceRules, parseRules } from './trace.ts';
