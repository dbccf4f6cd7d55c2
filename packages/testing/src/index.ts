export { canUseKernel, isRoot } from './kernel.ts';
