export type { Cluster, Endpoint, EndpointPort, EndpointSlice, IPFamily, Protocol, Service, ServicePort } from './types.ts';
export { ModelError, ModelValidationError, showValue } from './errors.ts';
export { ipFamily, ipv4FromInt, parseCIDR } from './net.ts';
export { isDNS1123Subdomain } from './validate.ts';
export { parseCluster, readClusterFile } from './ingest.ts';
export { toKubernetesJson, toKubernetesList, toKubernetesYaml } from './serialize.ts';
export { DEFAULT_MIX, GENERATED_CLUSTER_CIDR, GENERATED_LOCAL_NODE, generateCluster, mulberry32 } from './generate.ts';
export { GENERATED_CLUSTER_CIDR_V6 } from './generate-family.ts';
