import { describe, expect, it } from 'vitest';
import { readClusterFile } from '@kpb/model';
import { databaseServiceYaml, smallClusterYaml } from '../src/index.ts';

describe('examples', () => {
  it('database-service.yaml is the textbook service', async () => {
    const { cluster, warnings } = await readClusterFile(databaseServiceYaml);
    expect(warnings).toEqual([]);
    expect(cluster.services).toHaveLength(1);
    const svc = cluster.services[0]!;
    expect(`${svc.namespace}/${svc.name}`).toBe('default/database-service');
    expect(svc.clusterIPs).toEqual(['10.0.1.100']);
    expect(svc.ports).toEqual([{ name: '', protocol: 'TCP', port: 3306, targetPort: 3306 }]);
    const eps = cluster.endpointSlices.flatMap((s) => s.endpoints);
    expect(eps.map((e) => e.addresses[0])).toEqual(['10.2.2.10', '10.2.2.11', '10.2.2.12']);
    expect(eps.every((e) => e.conditions.ready && e.nodeName === 'node-1')).toBe(true);
    expect(cluster.nodes.map((n) => n.name)).toEqual(['node-1']);
  });

  it('small-cluster.yaml parses and uses every feature', async () => {
    const { cluster, warnings } = await readClusterFile(smallClusterYaml);
    expect(warnings).toEqual([]);
    const s = cluster.services;
    const eps = cluster.endpointSlices.flatMap((x) => x.endpoints);
    const has = (f: (x: (typeof s)[number]) => boolean) => expect(s.some(f)).toBe(true);
    expect(s.length).toBeGreaterThanOrEqual(8);
    has((x) => x.ports.length > 1 && x.ports.some((p) => typeof p.targetPort === 'string'));
    has((x) => x.ports.some((p) => p.protocol === 'UDP'));
    has((x) => x.ports.some((p) => p.protocol === 'SCTP'));
    has((x) => x.sessionAffinity !== undefined);
    has((x) => x.type === 'NodePort' && x.externalTrafficPolicy === 'Cluster');
    has((x) => x.type === 'NodePort' && x.externalTrafficPolicy === 'Local');
    has((x) => x.healthCheckNodePort !== undefined);
    has((x) => x.externalIPs.length > 0);
    has((x) => x.type === 'LoadBalancer' && x.loadBalancerIPs.length > 0 && x.loadBalancerSourceRanges.length > 0);
    has((x) => x.internalTrafficPolicy === 'Local');
    has((x) => x.type === 'ExternalName');
    has((x) => x.headless);
    const withEndpoints = new Set(cluster.endpointSlices.filter((x) => x.endpoints.length > 0).map((x) => `${x.namespace}/${x.serviceName}`));
    has((x) => x.type !== 'ExternalName' && !x.headless && !withEndpoints.has(`${x.namespace}/${x.name}`));
    const slicesOf = (ns: string, name: string) => cluster.endpointSlices.filter((x) => x.namespace === ns && x.serviceName === name);
    expect(slicesOf('shop', 'web')).toHaveLength(2);
    expect(eps.some((e) => !e.conditions.ready && !e.conditions.terminating)).toBe(true);
    expect(eps.some((e) => e.conditions.serving && e.conditions.terminating)).toBe(true);
    expect(cluster.nodes.map((n) => n.name)).toEqual(['node-1', 'node-2']);
  });
});
