/**
 * @kpb/robustness: hostile-input fuzzing, faults in the middle of a sync, SIGKILL, vanishing
 * namespaces, concurrent kpb processes, drift, and native-addon hygiene — helpers for the tests.
 */
export { BACKEND_CASES, CORE_CASES, createNftnl } from './backends.ts';
export type { BackendCase } from './backends.ts';
export { makeNamespace, dropNamespace, inNamespace, run, snapshot, pidsIn } from './kernel.ts';
export type { NsTarget } from './kernel.ts';
export { kpb, startKpb, STACK_TRACE } from './cli.ts';
export { baseDocuments, mutatedInput, randomInput } from './hostile.ts';
export type { FuzzInput } from './hostile.ts';
export { apiRefusal, apiRuleInput } from './api-rules.ts';
export { checkRenderedText } from './render-check.ts';
export { fuzzRuns, fuzzSeed, scaled } from './budget.ts';
export { clusterPair, writePair, SETTINGS_FLAGS } from './clusters.ts';
