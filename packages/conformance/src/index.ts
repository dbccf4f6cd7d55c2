export * from './flows.ts';
export { BACKEND_CASES } from './backends.ts';
export type { BackendCase } from './backends.ts';
export { checkTrace, fixturePlan } from './trace.ts';
export { judgeProbe, probeRow } from './kernel.ts';
export { randomWalk } from './walk.ts';
