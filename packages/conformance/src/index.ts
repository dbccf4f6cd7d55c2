export * from './flows.ts';
export { BACKEND_CASES, kubeProxyMode } from './backends.ts';
export type { BackendCase } from './backends.ts';
export { checkTrace, fixturePlans, tracePacket } from './trace.ts';
export { addSecondaryNodeIP, judgeProbe, probeRow, startNodeServer } from './kernel.ts';
export { randomWalk } from './walk.ts';
