import { describe, expect, it } from 'vitest';
import { generateCluster, parseCluster, toKubernetesJson, toKubernetesList, toKubernetesYaml } from '../src/index.ts';

describe('round trip', { timeout: 60_000 }, () => {
  it('generate → JSON List → parse is deep-equal', () => {
    const c = generateCluster({ services: 3000, endpointsPerService: 3, seed: 5, nodes: 12 });
    const { cluster, warnings } = parseCluster(JSON.stringify(toKubernetesList(c)), 'gen.json');
    expect(warnings).toEqual([]);
    expect(cluster).toEqual(c);
    expect(parseCluster(toKubernetesJson(c)).cluster).toEqual(c);
  });

  it('generate → YAML → parse is deep-equal', () => {
    const c = generateCluster({ services: 150, endpointsPerService: 2, seed: 6 });
    expect(parseCluster(toKubernetesYaml(c), 'gen.yaml').cluster).toEqual(c);
  });

  it('the List looks like kubectl output', () => {
    const c = generateCluster({ services: 50, endpointsPerService: 3, seed: 1 });
    const l = toKubernetesList(c);
    expect(l.apiVersion).toBe('v1');
    expect(l.kind).toBe('List');
    const slice = l.items.find((i) => i['kind'] === 'EndpointSlice')!;
    expect(slice['apiVersion']).toBe('discovery.k8s.io/v1');
    expect((slice['metadata'] as { labels: Record<string, string> }).labels['kubernetes.io/service-name']).toMatch(/^svc-\d+$/);
  });

  it('special services round-trip', () => {
    const text = JSON.stringify([
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext', namespace: 'a' }, spec: { type: 'ExternalName', externalName: 'db.example.com' } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'hl', namespace: 'a' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ds', namespace: 'a' }, spec: { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1', 'fd00::1'], ipFamilyPolicy: 'RequireDualStack', ports: [{ port: 80 }] } },
    ]);
    const c = parseCluster(text).cluster;
    expect(parseCluster(JSON.stringify(toKubernetesList(c))).cluster).toEqual(c);
  });
});
