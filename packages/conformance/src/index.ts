export * from './flows.ts';
export { BACKEND_CASES } from './backends.ts';
export type { BackendCase } from './backends.ts';
export { checkTrace, fixturePlan } from './trace.ts';
export { attemptsFor, judgeProbe, probeRow } from './kernel.ts';
export { randomWalk, CHANGE_KINDS } from './walk.ts';
export type { ChangeKind, Walk } from './walk.ts';
