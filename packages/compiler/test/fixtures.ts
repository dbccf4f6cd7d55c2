/** Small builders for hand-written clusters in compiler tests. */
import { makeEndpoint, makeService, type EndpointOptions } from '@kpb/testing';
import type { Cluster, Endpoint, EndpointPort, EndpointSlice, Service, ServicePort } from '@kpb/model';

export function svc(name: string, extra: Partial<Service> & { ports?: ServicePort[] } = {}): Service {
  return makeService({ namespace: 'ns', name, ...extra });
}

export function ep(ip: string, opts: EndpointOptions = {}): Endpoint {
  return makeEndpoint(ip, opts);
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
