import { describe, expect, it } from 'vitest';
import { compile, diffPlans, nodeSettings } from '@kpb/compiler';
import type { Plan } from '@kpb/compiler';
import { generateCluster, GENERATED_CLUSTER_CIDR, GENERATED_LOCAL_NODE } from '@kpb/model';
import type { Cluster } from '@kpb/model';
import { digestText, parseDigest, planDigest, updateDigest } from '../src/digest.ts';

const SETTINGS = nodeSettings({ nodeName: GENERATED_LOCAL_NODE, clusterCIDR: GENERATED_CLUSTER_CIDR });
const cluster = (services: number): Cluster => generateCluster({ services, endpointsPerService: 3, seed: 1 });
const plan = (c: Cluster): Plan => compile(c, SETTINGS);
/** The same cluster with the first service's first port renumbered and the last service gone. */
function editCluster(c: Cluster): Cluster {
  const [first, ...rest] = c.services;
  const ports = first!.ports.map((p, i) => (i === 0 ? { ...p, port: p.port + 1 } : p));
  return { ...c, services: [{ ...first!, ports }, ...rest.slice(0, -1)] };
}

describe('plan digest', () => {
  const c = cluster(300);
  const A = plan(c);
  const B = plan(editCluster(c));
  it('equal plans agree; different plans differ', () => {
    expect(digestText(planDigest(plan(c)))).toBe(digestText(planDigest(A)));
    expect(digestText(planDigest(A))).not.toBe(digestText(planDigest(B)));
  });
  it('the incremental update equals the full digest', () => {
    const updated = updateDigest(planDigest(A), plan(editCluster(c)), diffPlans(A, B));
    expect(digestText(updated)).toBe(digestText(planDigest(B)));
    const back = updateDigest(planDigest(B), plan(c), diffPlans(B, A));
    expect(digestText(back)).toBe(digestText(planDigest(A)));
  });
  it('round-trips through its text', () => {
    expect(parseDigest(digestText(planDigest(A)))).toEqual(planDigest(A));
  });
});
