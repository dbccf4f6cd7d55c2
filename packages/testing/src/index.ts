export { canUseKernel, isRoot } from './kernel.ts';
export { createNamespace, deleteNamespace, execIn, execHost, withNamespace, listNamespaces, reapStale } from './netns.ts';
export { createVirtualCluster, teardownAllClusters } from './vcluster.ts';
export type { VirtualCluster, ProbeResult } from './vcluster.ts';
export { makeEndpoint, makeService } from './fixtures.ts';
export type { EndpointOptions } from './fixtures.ts';
