/** Namespaces, clusters and plans for the nftnl tests. */
import { execFileSync } from 'node:child_process';
import { compile, nodeSettings } from '@kpb/compiler';
import type { NodeSettings, Plan } from '@kpb/compiler';
import { generateCluster, GENERATED_CLUSTER_CIDR, GENERATED_LOCAL_NODE } from '@kpb/model';
import type { Cluster, Service } from '@kpb/model';
import type { Target } from '@kpb/backend';
import { listRuleset } from '@kpb/native';

export const SETTINGS: NodeSettings = nodeSettings({ nodeName: GENERATED_LOCAL_NODE, clusterCIDR: GENERATED_CLUSTER_CIDR });

export function cluster(services: number, seed = 1): Cluster {
  return generateCluster({ services, endpointsPerService: 3, seed });
}

export function plan(c: Cluster): Plan {
  return compile(c, SETTINGS);
}

let counter = 0;
export type NsTarget = Target & { kind: 'netns' };

/** A throwaway namespace `kpb-nftnl-<pid>-<n>` (delete it with deleteNetns). */
export function makeNetns(): NsTarget {
  const name = `kpb-nftnl-${process.pid}-${counter++}`;
  execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe' });
  return { kind: 'netns', name };
}

export function deleteNetns(t: Target | undefined): void {
  if (t?.kind !== 'netns') return;
  try {
    execFileSync('ip', ['netns', 'del', t.name], { stdio: 'pipe' });
  } catch {
    /* gone */
  }
}

export function nftIn(t: NsTarget, args: string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', t.name, 'nft', ...args], { input: input ?? '', stdio: 'pipe', timeout: 120_000, maxBuffer: 1 << 30 }).toString();
}

export const listRulesetText = (t: NsTarget): string => nftIn(t, ['list', 'ruleset']);

/** The addon's listing with handles and element order removed: structural equality of two loads. */
export async function structure(t: NsTarget, family: 'ip' | 'ip6' = 'ip'): Promise<unknown> {
  const l = await listRuleset(t.name, family, 'kube-proxy');
  const strip = JSON.parse(JSON.stringify(l, (k, v) => (k === 'handle' || k === 'position' || k === 'text' || k === 'generation' || k === 'use' ? undefined : v))) as {
    sets: { name: string; elements: unknown[] }[];
  };
  for (const s of strip.sets) s.elements.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  return strip;
}

/**
 * B from A: services removed, endpoints added and removed, affinity added/removed/changed,
 * nodeports added/removed, a new service.
 */
export function editCluster(c: Cluster): Cluster {
  const svcs = c.services.filter((s) => s.type !== 'ExternalName' && !s.headless && s.clusterIPs.length > 0);
  const removed = new Set(svcs.slice(0, 5).map((s) => `${s.namespace}/${s.name}`));
  const moreEndpoints = new Set(svcs.slice(5, 10).map((s) => `${s.namespace}/${s.name}`));
  const fewerEndpoints = new Set(svcs.slice(10, 15).map((s) => `${s.namespace}/${s.name}`));
  const affinity = new Set(svcs.slice(15, 25).map((s) => `${s.namespace}/${s.name}`));
  const nodePort = new Set(svcs.slice(25, 30).map((s) => `${s.namespace}/${s.name}`));
  const id = (s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`;
  let port = 32700;
  const services: Service[] = c.services
    .filter((s) => !removed.has(id(s)))
    .map((s) => {
      if (affinity.has(id(s))) {
        if (s.sessionAffinity) {
          const { sessionAffinity: _drop, ...rest } = s;
          return s.sessionAffinity.timeoutSeconds === 10800 ? { ...s, sessionAffinity: { timeoutSeconds: 600 } } : rest;
        }
        return { ...s, sessionAffinity: { timeoutSeconds: 300 } };
      }
      if (nodePort.has(id(s))) {
        if (s.type === 'ClusterIP') return { ...s, type: 'NodePort' as const, ports: s.ports.map((p) => ({ ...p, nodePort: port++ })) };
        if (s.type === 'NodePort') return { ...s, type: 'ClusterIP' as const, ports: s.ports.map(({ nodePort: _n, ...p }) => p) };
      }
      return s;
    });
  const added: Service = {
    namespace: 'ns-new',
    name: 'brand-new',
    type: 'NodePort',
    clusterIPs: ['10.111.222.1'],
    headless: false,
    ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 32760 }],
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    sessionAffinity: { timeoutSeconds: 60 },
  };
  const endpointSlices = c.endpointSlices
    .filter((s) => !removed.has(`${s.namespace}/${s.serviceName}`))
    .map((s) => {
      const key = `${s.namespace}/${s.serviceName}`;
      if (moreEndpoints.has(key) && s.endpoints.length) {
        const e = s.endpoints[0]!;
        const a = e.addresses[0]!;
        const parts = a.split('.');
        const bumped = `${parts[0]}.${parts[1]}.${(Number(parts[2]) + 101) % 256}.${parts[3]}`;
        return { ...s, endpoints: [...s.endpoints, { ...e, addresses: [bumped] }] };
      }
      if (fewerEndpoints.has(key)) return { ...s, endpoints: s.endpoints.slice(1) };
      return s;
    });
  endpointSlices.push({
    namespace: 'ns-new',
    name: 'brand-new-1',
    serviceName: 'brand-new',
    addressType: 'IPv4',
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    endpoints: [
      { addresses: ['10.200.0.1'], conditions: { ready: true, serving: true, terminating: false }, nodeName: GENERATED_LOCAL_NODE },
      { addresses: ['10.200.0.2'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-1' },
    ],
  });
  return { ...c, services: [...services, added], endpointSlices };
}

/**
 * `nft list ruleset` with the table's chain/set/map blocks in name order. The kernel lists
 * objects in creation order, so after an incremental sync new chains come last; every block's
 * text must still be identical.
 */
export function blocksSorted(text: string): string {
  return text
    .split(/\n(?=\t(?:chain|set|map) )/)
    .map((b) => b.replace(/\n+$/, ''))
    .sort()
    .join('\n');
}
