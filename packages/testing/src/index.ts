export { canUseKernel, isRoot } from './kernel.ts';
export {
  createNamespace,
  deleteNamespace,
  execIn,
  execHost,
  withNamespace,
  listNamespaces,
  reapStale,
  ExecError,
} from './netns.ts';
export type { ExecOptions, ExecResult } from './netns.ts';
export { createVirtualCluster, teardownAllClusters, POD_GATEWAY } from './vcluster.ts';
export type {
  VirtualCluster,
  VirtualClusterSpec,
  PodSpec,
  ProbeOptions,
  ProbeResult,
  ProbeProto,
} from './vcluster.ts';
export { makeEndpoint, makeService } from './fixtures.ts';
export type { EndpointOptions } from './fixtures.ts';
