/** Hand-written clusters and plans for iptables backend tests. */
import type { Cluster, Endpoint, EndpointSlice, Service, ServicePort } from '@kpb/model';
import { compile, nodeSettings, type NodeSettings, type Plan } from '@kpb/compiler';
import { makeEndpoint, makeService, type EndpointOptions } from '@kpb/testing';

export const NODE = 'node-a';
export const NODE_IP = '192.168.1.10';
export const CLUSTER_CIDR = '10.0.0.0/8';

export function svc(namespace: string, name: string, extra: Partial<Service> & { ports?: ServicePort[] } = {}): Service {
  return makeService({ namespace, name, clusterIPs: ['172.30.0.41'], ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 80 }], ...extra });
}

export function ep(ip: string, opts: EndpointOptions = {}): Endpoint {
  return makeEndpoint(ip, opts);
}

export function slice(
  namespace: string,
  service: string,
  endpoints: Endpoint[],
  ports: EndpointSlice['ports'] = [{ name: 'p80', protocol: 'TCP', port: 80 }],
): EndpointSlice {
  return { namespace, name: `${service}-abc`, serviceName: service, addressType: 'IPv4', ports, endpoints };
}

export function cluster(services: Service[], endpointSlices: EndpointSlice[] = []): Cluster {
  const sorted = [...services].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  return {
    services: sorted,
    endpointSlices,
    nodes: [
      { name: 'node-a', addresses: [{ type: 'InternalIP', address: NODE_IP }] },
      { name: 'node-b', addresses: [{ type: 'InternalIP', address: '192.168.1.11' }] },
    ],
  };
}

const SETTINGS: NodeSettings = nodeSettings({ nodeName: NODE, clusterCIDR: CLUSTER_CIDR });

export function planOf(c: Cluster, settings: Partial<NodeSettings> = {}): Plan {
  return compile(c, { ...SETTINGS, ...settings });
}

/** Shape 1: one ClusterIP service with three endpoints (kube-proxy's ns1/svc1:p80). */
export function oneServiceCluster(endpoints = 3): Cluster {
  const eps = Array.from({ length: endpoints }, (_, i) => ep(`10.180.0.${i + 1}`, { node: i === 0 ? NODE : 'node-b' }));
  return cluster([svc('ns1', 'svc1')], endpoints > 0 ? [slice('ns1', 'svc1', eps)] : []);
}

/** Shape 2: a mix of what kube-proxy distinguishes. */
export function mixCluster(): Cluster {
  return cluster(
    [
      // ClusterIP with ClientIP affinity, 2 endpoints.
      svc('ns1', 'svc1', { sessionAffinity: { timeoutSeconds: 10800 } }),
      // LoadBalancer, externalTrafficPolicy Local, health check node port, external IP.
      svc('ns2', 'svc2', {
        type: 'LoadBalancer',
        clusterIPs: ['172.30.0.42'],
        ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 3001 }],
        externalIPs: ['192.168.99.22'],
        loadBalancerIPs: ['1.2.3.4'],
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 30000,
      }),
      // NodePort, Local policy, no local endpoint: DROP for external traffic.
      svc('ns3', 'svc3', {
        type: 'NodePort',
        clusterIPs: ['172.30.0.43'],
        ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 3003 }],
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 30001,
      }),
      // LoadBalancer, Cluster policy, source ranges (one contains the node: allowFromNode), UDP.
      svc('ns5', 'svc5', {
        type: 'LoadBalancer',
        clusterIPs: ['172.30.0.45'],
        ports: [{ name: 'dns', protocol: 'UDP', port: 53, targetPort: 53, nodePort: 3002 }],
        loadBalancerIPs: ['5.6.7.8'],
        loadBalancerSourceRanges: ['192.168.0.0/16', '203.0.113.0/25'],
      }),
      // ClusterIP without endpoints: REJECT.
      svc('ns6', 'svc6', { clusterIPs: ['172.30.0.46'] }),
      // NodePort without endpoints, external IP: REJECT in filter for all of them.
      svc('ns7', 'svc7', {
        type: 'NodePort',
        clusterIPs: ['172.30.0.47'],
        ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 3007 }],
        externalIPs: ['192.168.99.77'],
      }),
      // internalTrafficPolicy Local with no local endpoint: DROP for the cluster IP.
      svc('ns8', 'svc8', { clusterIPs: ['172.30.0.48'], internalTrafficPolicy: 'Local' }),
    ],
    [
      slice('ns1', 'svc1', [ep('10.180.0.1', { node: 'node-b' }), ep('10.180.0.11', { node: NODE })]),
      slice('ns2', 'svc2', [ep('10.180.0.2', { node: NODE }), ep('10.180.0.22', { node: 'node-b' })]),
      slice('ns3', 'svc3', [ep('10.180.0.3', { node: 'node-b' })]),
      slice('ns5', 'svc5', [ep('10.180.0.5', { node: 'node-b' }), ep('10.180.0.55', { node: 'node-b' }), ep('10.180.0.56', { node: NODE })], [
        { name: 'dns', protocol: 'UDP', port: 53 },
      ]),
      slice('ns8', 'svc8', [ep('10.180.0.8', { node: 'node-b' })]),
    ],
  );
}

/** kube-proxy's generateServiceEndpoints (number_generated_rules_test.go). */
export function kubeProxyGenerated(services: number, endpoints: number, type: 'ClusterIP' | 'LoadBalancer'): Cluster {
  const list: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < services; i++) {
    const name = `svc${i}`;
    list.push(
      svc('namespace', name, {
        type,
        clusterIPs: [`10.0.${Math.floor((1 + i) / 256)}.${(1 + i) % 256}`],
        ports: [{ name: '8080', protocol: 'TCP', port: 80 + i, targetPort: 8080, ...(type === 'LoadBalancer' ? { nodePort: 30000 + i } : {}) }],
        ...(type === 'LoadBalancer'
          ? { externalIPs: ['1.2.3.4'], loadBalancerIPs: ['1.2.3.4'], loadBalancerSourceRanges: ['1.2.3.0/28'] }
          : {}),
      }),
    );
    slices.push(
      slice(
        'namespace',
        name,
        Array.from({ length: endpoints }, (_, j) => ep(`172.16.0.${1 + j}`)),
        [{ name: '8080', protocol: 'TCP', port: 8080 }],
      ),
    );
  }
  return cluster(list, slices);
}

/** n ClusterIP services × k endpoints, cheap to build at scale. */
export function bigCluster(services: number, endpoints: number, seedOffset = 0): Cluster {
  const list: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < services; i++) {
    const name = `svc-${i}`;
    const ip = 0x0a600000 + 10 + i; // 10.96.0.10 + i
    list.push(
      svc('ns', name, {
        clusterIPs: [`${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`],
        ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 8080 }],
      }),
    );
    const eps: Endpoint[] = [];
    for (let j = 0; j < endpoints; j++) {
      const e = 0x0a800000 + (i * endpoints + j + seedOffset) + 2; // 10.128.0.2 + n
      eps.push(ep(`${e >>> 24}.${(e >>> 16) & 255}.${(e >>> 8) & 255}.${e & 255}`, { node: j === 0 ? NODE : 'node-b' }));
    }
    slices.push(slice('ns', name, eps, [{ name: '', protocol: 'TCP', port: 8080 }]));
  }
  return cluster(list, slices);
}
