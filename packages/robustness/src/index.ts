/**
 * @kpb/robustness: hostile-input fuzzing, faults in the middle of a sync, SIGKILL, vanishing
 * namespaces, concurrent kpb processes, drift, and native-addon hygiene — helpers for the tests.
 */
export { BACKEND_CASES, CORE_CASES, createNftnl } from './backends.ts';
export type { BackendCase, BackendKind } from './backends.ts';
export { makeNamespace, dropNamespace, inNamespace, run, snapshot, pidsIn, tablesSorted } from './kernel.ts';
export type { NsTarget } from './kernel.ts';
export { KPB_BIN, kpb, startKpb, STACK_TRACE } from './cli.ts';
export type { CliProcess, CliRun } from './cli.ts';
export { HOSTILE_STRINGS, HOSTILE_NUMBERS, hostileValue, applyMutations, baseDocuments, mutatedInput, randomInput } from './hostile.ts';
export type { FuzzInput, Mutation, Encoding } from './hostile.ts';
export { checkRenderedText, QUOTED, IPTABLES_CHAIN, NFT_NAME, PRINTABLE } from './render-check.ts';
export type { RenderProblem } from './render-check.ts';
export { fuzzRuns, fuzzSeed, scaled } from './budget.ts';
export { clusterPair, writePair, SETTINGS, SETTINGS_FLAGS } from './clusters.ts';
export type { Pair } from './clusters.ts';
