/**
 * The model back to Kubernetes objects: a kubectl-style `List` (what
 * `kubectl get services,endpointslices,nodes -A -o json` prints) that `parseCluster` reads back
 * to a deep-equal `Cluster`, and a multi-document YAML rendering of it for people.
 */
import { stringify } from 'yaml';
import type { Cluster, EndpointSlice, Node, Service } from './types.ts';
import { ipFamily } from './net.ts';
import { SERVICE_NAME_LABEL } from './validate.ts';

export interface KubernetesList {
  readonly apiVersion: 'v1';
  readonly kind: 'List';
  readonly metadata: { readonly resourceVersion: string };
  readonly items: readonly Record<string, unknown>[];
}

function serviceToKubernetes(s: Service): Record<string, unknown> {
  const spec: Record<string, unknown> = { type: s.type };
  if (s.type === 'ExternalName') {
    spec['externalName'] = s.externalName ?? '';
  } else if (s.headless) {
    spec['clusterIP'] = 'None';
    spec['clusterIPs'] = ['None'];
  } else if (s.clusterIPs.length > 0) {
    spec['clusterIP'] = s.clusterIPs[0];
    spec['clusterIPs'] = [...s.clusterIPs];
    spec['ipFamilies'] = s.clusterIPs.map((ip) => ipFamily(ip));
    spec['ipFamilyPolicy'] = s.clusterIPs.length > 1 ? 'RequireDualStack' : 'SingleStack';
  }
  spec['ports'] = s.ports.map((p) => {
    const port: Record<string, unknown> = {};
    if (p.name !== '') port['name'] = p.name;
    port['protocol'] = p.protocol;
    port['port'] = p.port;
    port['targetPort'] = p.targetPort;
    if (p.nodePort !== undefined) port['nodePort'] = p.nodePort;
    return port;
  });
  if (s.externalIPs.length > 0) spec['externalIPs'] = [...s.externalIPs];
  if (s.loadBalancerSourceRanges.length > 0) spec['loadBalancerSourceRanges'] = [...s.loadBalancerSourceRanges];
  spec['sessionAffinity'] = s.sessionAffinity ? 'ClientIP' : 'None';
  if (s.sessionAffinity) spec['sessionAffinityConfig'] = { clientIP: { timeoutSeconds: s.sessionAffinity.timeoutSeconds } };
  if (s.type === 'NodePort' || s.type === 'LoadBalancer' || s.externalTrafficPolicy !== 'Cluster') {
    spec['externalTrafficPolicy'] = s.externalTrafficPolicy;
  }
  if (s.healthCheckNodePort !== undefined) spec['healthCheckNodePort'] = s.healthCheckNodePort;
  spec['internalTrafficPolicy'] = s.internalTrafficPolicy;
  const status = { loadBalancer: s.loadBalancerIPs.length > 0 ? { ingress: s.loadBalancerIPs.map((ip) => ({ ip, ipMode: 'VIP' })) } : {} };
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: s.name, namespace: s.namespace }, spec, status };
}

function endpointSliceToKubernetes(e: EndpointSlice): Record<string, unknown> {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: e.name, namespace: e.namespace, labels: { [SERVICE_NAME_LABEL]: e.serviceName } },
    addressType: e.addressType,
    ports: e.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port })),
    endpoints: e.endpoints.map((ep) => {
      const out: Record<string, unknown> = {
        addresses: [...ep.addresses],
        conditions: { ready: ep.conditions.ready, serving: ep.conditions.serving, terminating: ep.conditions.terminating },
      };
      if (ep.nodeName !== undefined) out['nodeName'] = ep.nodeName;
      return out;
    }),
  };
}

function nodeToKubernetes(n: Node): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name },
    status: { addresses: n.addresses.map((a) => ({ type: a.type, address: a.address })) },
  };
}

/** The cluster as a kubectl-style `List` (Services, then EndpointSlices, then Nodes). */
export function toKubernetesList(cluster: Cluster): KubernetesList {
  const items: Record<string, unknown>[] = [];
  for (const s of cluster.services) items.push(serviceToKubernetes(s));
  for (const e of cluster.endpointSlices) items.push(endpointSliceToKubernetes(e));
  for (const n of cluster.nodes) items.push(nodeToKubernetes(n));
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items };
}

/** The cluster as JSON text (`kubectl … -o json` style, two-space indent). */
export function toKubernetesJson(cluster: Cluster): string {
  return JSON.stringify(toKubernetesList(cluster), null, 2) + '\n';
}

/** The cluster as multi-document YAML (one object per document), for people to read and edit. */
export function toKubernetesYaml(cluster: Cluster): string {
  return toKubernetesList(cluster).items.map((item) => stringify(item, { lineWidth: 0 })).join('---\n');
}
