/** Hand-made clusters and plans for the nft backend tests, and a network-namespace helper. */
import { execFileSync } from 'node:child_process';
import { compile, nodeSettings } from '@kpb/compiler';
import type { NodeSettings, Plan } from '@kpb/compiler';
import type { Cluster, Endpoint, EndpointSlice, Service } from '@kpb/model';
import type { Target } from '@kpb/backend';
import { makeService } from '@kpb/testing';

export function svc(namespace: string, name: string, clusterIP: string, extra: Partial<Service> = {}): Service {
  return makeService({ namespace, name, clusterIPs: [clusterIP], ...extra });
}

export function ep(ip: string, node = 'node-b', ready = true): Endpoint {
  return { addresses: [ip], conditions: { ready, serving: ready, terminating: false }, nodeName: node };
}

export function slice(namespace: string, service: string, endpoints: Endpoint[], port = 8080, portName = 'p80', protocol: 'TCP' | 'UDP' | 'SCTP' = 'TCP'): EndpointSlice {
  return { namespace, name: `${service}-abc`, serviceName: service, addressType: 'IPv4', ports: [{ name: portName, protocol, port }], endpoints };
}

export const NODES: Cluster['nodes'] = [
  { name: 'node-a', addresses: [{ type: 'InternalIP', address: '192.168.1.10' }] },
  { name: 'node-b', addresses: [{ type: 'InternalIP', address: '192.168.1.11' }] },
];

export const SETTINGS: NodeSettings = nodeSettings({ nodeName: 'node-a', clusterCIDR: '10.1.0.0/16' });

/** A small cluster touching every feature: cluster/local policies, NodePort, LB + firewall, affinity, no endpoints. */
export function smallCluster(): Cluster {
  const services: Service[] = [
    svc('ns1', 'web', '10.96.0.10'),
    svc('ns1', 'dns', '10.96.0.53', { ports: [{ name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 }] }),
    svc('ns2', 'np-local', '10.96.0.20', {
      type: 'NodePort',
      externalTrafficPolicy: 'Local',
      ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }],
      healthCheckNodePort: 32000,
    }),
    svc('ns2', 'lb', '10.96.0.30', {
      type: 'LoadBalancer',
      ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30081 }],
      loadBalancerIPs: ['198.51.100.10'],
      loadBalancerSourceRanges: ['203.0.113.0/24', '192.168.1.0/24'],
      externalIPs: ['192.0.2.7'],
      sessionAffinity: { timeoutSeconds: 10800 },
    }),
    svc('ns3', 'empty', '10.96.0.40', { type: 'NodePort', ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30082 }] }),
    svc('ns3', 'itp-local', '10.96.0.41', { internalTrafficPolicy: 'Local' }),
    svc('ns3', 'np-local-none', '10.96.0.42', {
      type: 'NodePort',
      externalTrafficPolicy: 'Local',
      ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30083 }],
    }),
  ];
  const endpointSlices: EndpointSlice[] = [
    slice('ns1', 'web', [ep('10.1.1.1', 'node-a'), ep('10.1.2.1'), ep('10.1.2.2')]),
    slice('ns1', 'dns', [ep('10.1.2.53')], 5353, 'dns', 'UDP'),
    slice('ns2', 'np-local', [ep('10.1.1.20', 'node-a'), ep('10.1.2.20')]),
    slice('ns2', 'lb', [ep('10.1.1.30', 'node-a'), ep('10.1.2.30')]),
    slice('ns3', 'itp-local', [ep('10.1.2.41')]),
    slice('ns3', 'np-local-none', [ep('10.1.2.42')]),
  ];
  return { services, endpointSlices, nodes: NODES };
}

export function smallPlan(settings: NodeSettings = SETTINGS): Plan {
  return compile(smallCluster(), settings);
}

/** Apply edits to a cluster (returns a new one). */
export function edit(c: Cluster, f: { services?: (s: Service[]) => Service[]; slices?: (s: EndpointSlice[]) => EndpointSlice[] }): Cluster {
  return {
    services: f.services ? f.services([...c.services]) : c.services,
    endpointSlices: f.slices ? f.slices([...c.endpointSlices]) : c.endpointSlices,
    nodes: c.nodes,
  };
}

let counter = 0;

/** Create a throwaway network namespace `kpb-nft-<pid>-<n>`. */
export function makeNetns(): Target & { kind: 'netns' } {
  const name = `kpb-nft-${process.pid}-${counter++}`;
  execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe' });
  return { kind: 'netns', name };
}

export function deleteNetns(target: Target | undefined): void {
  if (target?.kind !== 'netns') return;
  try {
    execFileSync('ip', ['netns', 'del', target.name], { stdio: 'pipe' });
  } catch {
    /* already gone */
  }
}

/** Run nft in a namespace synchronously (test setup: foreign tables, hand-made drift). */
export function nftIn(target: Target & { kind: 'netns' }, args: string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', target.name, 'nft', ...args], { input: input ?? '', stdio: 'pipe', timeout: 60_000 }).toString();
}
