export * from './flows.ts';
export { BACKEND_CASES } from './backends.ts';
export type { BackendCase } from './backends.ts';
export { checkTrace, fixturePlan } from './trace.ts';
export { attemptsFor, judgeProbe, probeRow } from './kernel.ts';
