/**
 * Builders for hand-written model objects in tests: every field a Service or Endpoint needs, with
 * Kubernetes' defaults, so a test only states what matters to it.
 */
import type { Endpoint, Service } from '@kpb/model';

/** A ClusterIP service with one TCP port `p80` (80 → 8080) and default policies. */
export function makeService(fields: Partial<Service> & Pick<Service, 'namespace' | 'name'>): Service {
  return {
    type: 'ClusterIP',
    clusterIPs: ['10.96.0.10'],
    headless: false,
    ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 8080 }],
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    ...fields,
  };
}

export interface EndpointOptions {
  readonly ready?: boolean;
  /** Defaults to `ready`, as in Kubernetes. */
  readonly serving?: boolean;
  readonly terminating?: boolean;
  readonly node?: string;
}

/** An endpoint with one address and conditions defaulted as Kubernetes does. */
export function makeEndpoint(ip: string, opts: EndpointOptions = {}): Endpoint {
  const ready = opts.ready ?? true;
  return {
    addresses: [ip],
    conditions: { ready, serving: opts.serving ?? ready, terminating: opts.terminating ?? false },
    ...(opts.node !== undefined ? { nodeName: opts.node } : {}),
  };
}
