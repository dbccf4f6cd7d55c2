/** Small builders for hand-written clusters in compiler tests. */
import type { Cluster, Endpoint, EndpointPort, EndpointSlice, Service, ServicePort } from '@kpb/model';

export function svc(name: string, extra: Partial<Service> & { ports?: ServicePort[] } = {}): Service {
  return {
    namespace: 'ns',
    name,
    type: 'ClusterIP',
    clusterIPs: ['10.96.0.10'],
    headless: false,
    ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 8080 }],
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    ...extra,
  };
}

export function ep(ip: string, opts: { ready?: boolean; serving?: boolean; terminating?: boolean; node?: string } = {}): Endpoint {
  const ready = opts.ready ?? true;
  return {
    addresses: [ip],
    conditions: { ready, serving: opts.serving ?? ready, terminating: opts.terminating ?? false },
    ...(opts.node !== undefined ? { nodeName: opts.node } : {}),
  };
}

export function slice(service: string, endpoints: Endpoint[], name = `${service}-abc`, ports: EndpointPort[] = [{ name: 'p80', protocol: 'TCP', port: 8080 }]): EndpointSlice {
  return { namespace: 'ns', name, serviceName: service, addressType: 'IPv4', ports, endpoints };
}

export function cluster(services: Service[], endpointSlices: EndpointSlice[] = []): Cluster {
  return {
    services,
    endpointSlices,
    nodes: [
      { name: 'node-a', addresses: [{ type: 'InternalIP', address: '192.168.1.10' }] },
      { name: 'node-b', addresses: [{ type: 'InternalIP', address: '192.168.1.11' }] },
    ],
  };
}
