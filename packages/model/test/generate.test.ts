import { describe, expect, it } from 'vitest';
import { GENERATED_LOCAL_NODE, generateCluster, toKubernetesList } from '../src/index.ts';

// Heavy cases get a generous timeout: CI machines are shared and may be loaded.
describe('generateCluster', { timeout: 60_000 }, () => {
  it('is deterministic per seed', () => {
    const a = JSON.stringify(generateCluster({ services: 500, endpointsPerService: 3, seed: 42 }));
    const b = JSON.stringify(generateCluster({ services: 500, endpointsPerService: 3, seed: 42 }));
    const c = JSON.stringify(generateCluster({ services: 500, endpointsPerService: 3, seed: 43 }));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('has a realistic mix', () => {
    const n = 10000;
    const c = generateCluster({ services: n, endpointsPerService: 3, seed: 7 });
    const s = c.services;
    const count = (f: (x: (typeof s)[number]) => boolean) => s.filter(f).length;
    const within = (v: number, lo: number, hi: number) => {
      expect(v).toBeGreaterThanOrEqual(lo * n);
      expect(v).toBeLessThanOrEqual(hi * n);
    };
    expect(s).toHaveLength(n);
    within(count((x) => x.type === 'NodePort'), 0.08, 0.12);
    within(count((x) => x.type === 'LoadBalancer'), 0.02, 0.04);
    within(count((x) => x.ports.length > 1), 0.08, 0.12);
    within(count((x) => x.ports.some((p) => p.protocol === 'UDP')), 0.08, 0.2);
    within(count((x) => x.ports.some((p) => typeof p.targetPort === 'string')), 0.003, 0.05);
    within(count((x) => x.sessionAffinity !== undefined), 0.035, 0.065);
    within(count((x) => x.externalTrafficPolicy === 'Local'), 0.035, 0.065);
    within(count((x) => x.internalTrafficPolicy === 'Local'), 0.01, 0.03);
    within(count((x) => x.externalIPs.length > 0), 0.01, 0.03);
    expect(count((x) => x.externalTrafficPolicy === 'Local' && x.type === 'ClusterIP')).toBe(0);
    const lbs = s.filter((x) => x.type === 'LoadBalancer');
    expect(lbs.every((x) => x.loadBalancerIPs.length === 1)).toBe(true);
    expect(lbs.filter((x) => x.loadBalancerSourceRanges.length > 0).length).toBeGreaterThan(lbs.length / 5);

    const withEndpoints = new Set(c.endpointSlices.filter((e) => e.endpoints.length > 0).map((e) => `${e.namespace}/${e.serviceName}`));
    within(n - withEndpoints.size, 0.02, 0.04);
    const eps = c.endpointSlices.flatMap((e) => e.endpoints);
    expect(eps.filter((e) => !e.conditions.ready).length / eps.length).toBeGreaterThan(0.02);
    expect(eps.filter((e) => !e.conditions.ready).length / eps.length).toBeLessThan(0.06);
    expect(eps.some((e) => e.conditions.terminating && e.conditions.serving)).toBe(true);
    expect(eps.some((e) => e.nodeName === GENERATED_LOCAL_NODE)).toBe(true);
    const slicesPerService = new Map<string, number>();
    for (const e of c.endpointSlices) slicesPerService.set(`${e.namespace}/${e.serviceName}`, (slicesPerService.get(`${e.namespace}/${e.serviceName}`) ?? 0) + 1);
    within([...slicesPerService.values()].filter((v) => v > 1).length, 0.07, 0.13);
  });

  it('keeps addresses and node ports unique', () => {
    const c = generateCluster({ services: 30000, endpointsPerService: 3, seed: 1 });
    const ips = c.services.flatMap((s) => [...s.clusterIPs, ...s.externalIPs, ...s.loadBalancerIPs]);
    const pods = c.endpointSlices.flatMap((e) => e.endpoints.flatMap((p) => p.addresses));
    expect(new Set([...ips, ...pods]).size).toBe(ips.length + pods.length);
    const nodePorts = c.services.flatMap((s) => [...s.ports.flatMap((p) => (p.nodePort === undefined ? [] : [p.nodePort])), ...(s.healthCheckNodePort ? [s.healthCheckNodePort] : [])]);
    expect(new Set(nodePorts).size).toBe(nodePorts.length);
    expect(Math.min(...nodePorts)).toBeGreaterThanOrEqual(30000);
    expect(Math.max(...nodePorts)).toBeLessThanOrEqual(32767);
    // The range ran out: later would-be NodePort services became ClusterIP, none lost ports.
    expect(c.services.filter((s) => s.type !== 'ClusterIP').length).toBeLessThan(0.13 * 30000);
    expect(c.services.every((s) => s.type === 'ClusterIP' || s.ports.every((p) => p.nodePort !== undefined))).toBe(true);
  });

  it('splits big services into slices of at most 100 endpoints', () => {
    const c = generateCluster({ services: 5, endpointsPerService: 250, seed: 3, mix: { noEndpoints: 0 } });
    expect(c.endpointSlices.every((e) => e.endpoints.length <= 100)).toBe(true);
    expect(c.endpointSlices.reduce((a, e) => a + e.endpoints.length, 0)).toBe(5 * 250);
  });

  it('is fast enough and JSON-serializable', () => {
    const t = performance.now();
    const c = generateCluster({ services: 10000, endpointsPerService: 3, seed: 9 });
    const ms = performance.now() - t;
    expect(ms).toBeLessThan(5000); // budget is 0.5 s on an idle machine; generous for loaded CI
    expect(toKubernetesList(c).items.length).toBe(c.services.length + c.endpointSlices.length + c.nodes.length);
  });
});
