/**
 * kpb's service model: the parts of Kubernetes Services, EndpointSlices and Nodes that a
 * service proxy reads. Every value in a `Cluster` has been validated (see `validate.ts`):
 * names are DNS-1123 labels, addresses are canonical IP strings, ports are in range.
 * The model knows nothing of backends.
 */

/** IP family, as Kubernetes spells it. */
export type IPFamily = 'IPv4' | 'IPv6';

/** Layer-4 protocol of a service port. */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

export type TrafficPolicy = 'Cluster' | 'Local';

export interface ServicePort {
  /** Port name; '' when the service has a single unnamed port. */
  readonly name: string;
  readonly protocol: Protocol;
  /** The service (ClusterIP) port, 1..65535. */
  readonly port: number;
  /** The port on the pods: a number, or a name resolved through EndpointSlice port names. */
  readonly targetPort: number | string;
  /** Node port, 30000..32767 by default range but any 1..65535 is accepted; absent if none. */
  readonly nodePort?: number;
}

export interface Service {
  readonly namespace: string;
  readonly name: string;
  readonly type: ServiceType;
  /**
   * Cluster IPs in canonical form, primary first. Empty for headless services
   * (`clusterIP: None`) and ExternalName services, which produce no rules.
   */
  readonly clusterIPs: readonly string[];
  /** True for `clusterIP: None`. */
  readonly headless: boolean;
  readonly ports: readonly ServicePort[];
  readonly externalIPs: readonly string[];
  /** `status.loadBalancer.ingress[].ip`. */
  readonly loadBalancerIPs: readonly string[];
  /** CIDRs in canonical form (`10.0.0.0/8`). */
  readonly loadBalancerSourceRanges: readonly string[];
  /** ClientIP session affinity; undefined means None. */
  readonly sessionAffinity?: { readonly timeoutSeconds: number };
  readonly externalTrafficPolicy: TrafficPolicy;
  readonly internalTrafficPolicy: TrafficPolicy;
  readonly healthCheckNodePort?: number;
  /** `spec.externalName` of an ExternalName service (a DNS name; produces no rules). */
  readonly externalName?: string;
}

export interface EndpointConditions {
  /** Kubernetes treats a missing `ready` as true. */
  readonly ready: boolean;
  /** Missing `serving` defaults to the value of `ready`. */
  readonly serving: boolean;
  /** Missing `terminating` means false. */
  readonly terminating: boolean;
}

export interface Endpoint {
  /** Addresses in canonical form; kube-proxy uses the first. */
  readonly addresses: readonly string[];
  readonly conditions: EndpointConditions;
  readonly nodeName?: string;
}

export interface EndpointPort {
  /** '' when unnamed. */
  readonly name: string;
  readonly protocol: Protocol;
  readonly port: number;
}

export interface EndpointSlice {
  readonly namespace: string;
  readonly name: string;
  /** Value of the `kubernetes.io/service-name` label. */
  readonly serviceName: string;
  readonly addressType: IPFamily | 'FQDN';
  readonly ports: readonly EndpointPort[];
  readonly endpoints: readonly Endpoint[];
}

export interface NodeAddress {
  readonly type: string;
  readonly address: string;
}

export interface Node {
  readonly name: string;
  readonly addresses: readonly NodeAddress[];
}

/** A validated cluster description. Services are sorted by namespace/name; slices likewise. */
export interface Cluster {
  readonly services: readonly Service[];
  readonly endpointSlices: readonly EndpointSlice[];
  readonly nodes: readonly Node[];
}

/** A non-fatal remark made while reading input (for example an unknown kind). */
export interface Warning {
  readonly source: string;
  readonly message: string;
}
