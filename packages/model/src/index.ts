export type {
  Cluster, Endpoint, EndpointConditions, EndpointPort, EndpointSlice, IPFamily, Node, NodeAddress, Protocol,
  Service, ServicePort, ServiceType, TrafficPolicy, Warning,
} from './types.ts';
export { ModelError, ModelValidationError, sanitizeText, showValue } from './errors.ts';
export type { ModelErrorInit } from './errors.ts';
export { ipFamily, ipv4FromInt, ipv4ToInt, parseCIDR, parseIP } from './net.ts';
export type { CIDRResult, ParsedIP } from './net.ts';
export {
  DEFAULT_SESSION_AFFINITY_TIMEOUT, MAX_SESSION_AFFINITY_TIMEOUT, SERVICE_NAME_LABEL, isDNS1035Label, isDNS1123Label,
  isDNS1123Subdomain, isIanaSvcName, sortByNamespaceName, validateObjects,
} from './validate.ts';
export type { RawObject, ValidationResult } from './validate.ts';
export { jsonErrorOffset, parseCluster, readClusterFile } from './ingest.ts';
export type { ParseResult } from './ingest.ts';
export {
  endpointSliceToKubernetes, nodeToKubernetes, serviceToKubernetes, toKubernetesJson, toKubernetesList, toKubernetesYaml,
} from './serialize.ts';
export type { KubernetesList } from './serialize.ts';
export {
  DEFAULT_MIX, GENERATED_CLUSTER_CIDR, GENERATED_LOCAL_NODE, GENERATED_NODE_PORT_RANGE,
  generateCluster, mulberry32,
} from './generate.ts';
export type { GenerateOptions, Mix } from './generate.ts';
