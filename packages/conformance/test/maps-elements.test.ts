/**
 * Layout maps' claim, on a real kernel in throwaway namespaces: a sync that touches only common
 * service ports (Cluster policies, no affinity, no source ranges, at most PREBUILT_COUNTS
 * endpoints) commits set and data-map elements only. The ops sent (the one op walk both the
 * `nft -f` script and the nftnl batch are written from) hold no rule or chain operation, the
 * ruleset generation moves by exactly one, and the kernel's chains and rules are unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Target } from '@kpb/backend';
import { commonServicePort, diffChangedServicePorts, PREBUILT_COUNTS, buildRuleset, canonicalizeListing, nativeGeneration, parseCanon, renderOps } from '@kpb/backend-nft';
import { compileFamilies, diffPlans, nodeSettings, type Plan, type ServicePortPlan } from '@kpb/compiler';
import { GENERATED_CLUSTER_CIDR, GENERATED_LOCAL_NODE, type Cluster } from '@kpb/model';
import { canUseKernel, createNamespace, deleteNamespace, execIn, makeEndpoint } from '@kpb/testing';
import { BACKEND_CASES, randomWalk } from '../src/index.ts';

const STEPS = 80;
const settings = nodeSettings({ nodeName: GENERATED_LOCAL_NODE });
const planOf = (cluster: Cluster): Plan => compileFamilies(cluster, settings, ['IPv4'], [GENERATED_CLUSTER_CIDR])[0]!;
const common = (sp: ServicePortPlan) => commonServicePort(sp) && sp.clusterEndpoints.length <= PREBUILT_COUNTS;

/** The chains of kpb's table with their rules, as nft lists them (elements left out). */
async function chainsAndRules(ns: string): Promise<string> {
  const r = await execIn(ns, ['nft', 'list', 'table', 'ip', 'kube-proxy']);
  return JSON.stringify(parseCanon(canonicalizeListing(r.stdout)).filter((o) => o.kind === 'chain'));
}

describe.skipIf(!canUseKernel())('layout maps: a common-service sync is elements only', () => {
  describe.each(BACKEND_CASES.filter((c) => c.variant === 'maps'))('$id', ({ create }) => {
    let ns = '';
    beforeAll(async () => {
      ns = await createNamespace('maps-elements');
    }, 60_000);
    afterAll(async () => {
      if (ns) await deleteNamespace(ns);
    }, 60_000);

    it(`${STEPS} walk steps: every common-only one is set and data-map elements only`, async () => {
      const target: Target = { kind: 'netns', name: ns };
      const backend = create();
      const walk = randomWalk(200, 7);
      let previous = planOf(walk.cluster);
      await backend.apply(target, previous);
      const checked: Record<string, number> = {};
      for (let i = 0; i < STEPS; i++) {
        const { kind } = walk.step();
        const plan = planOf(walk.cluster);
        const changes = diffPlans(previous, plan);
        const commonOnly = [...changes.before, ...changes.after].every(common);
        const ops = commonOnly ? diffChangedServicePorts((p) => buildRuleset(p, 'maps'), previous, plan, changes).ops : [];
        const structure = commonOnly ? await chainsAndRules(ns) : '';
        const generation = await nativeGeneration(target);
        const r = await backend.sync(target, previous, plan);
        expect(r.mode, `step ${i} (${kind}): ${r.reason ?? ''}`).toBe('incremental');
        previous = plan;
        if (!commonOnly || ops.length === 0) continue;
        checked[kind] = (checked[kind] ?? 0) + 1;
        expect(ops.map((o) => o.op).filter((o) => o !== 'add-elements' && o !== 'delete-elements'), `step ${i} (${kind})`).toEqual([]);
        expect(renderOps(ops, 'ip')).not.toMatch(/^(add|delete|flush) (rule|chain)/m);
        expect((await nativeGeneration(target)) - generation, `step ${i} (${kind}): one commit`).toBe(1);
        expect(await chainsAndRules(ns), `step ${i} (${kind}): chains and rules unchanged`).toBe(structure);
      }
      // The walk reached every kind of common change the issue names.
      for (const kind of ['add-service', 'remove-service', 'add-endpoint', 'remove-endpoint', 'flip-readiness', 'toggle-node-port']) {
        expect(checked[kind] ?? 0, `${kind} checked (${JSON.stringify(checked)})`).toBeGreaterThan(0);
      }
    }, 300_000);

    it(`a service growing past ${PREBUILT_COUNTS} endpoints and back: a full apply that says why, then elements only`, async () => {
      const target: Target = { kind: 'netns', name: ns };
      const backend = create();
      const cluster = randomWalk(50, 11).cluster;
      const small = planOf(cluster);
      const slice = cluster.endpointSlices.find((sl) => {
        const sp = small.servicePorts.find((p) => p.namespace === sl.namespace && p.serviceName === sl.serviceName);
        return sl.addressType === 'IPv4' && sl.endpoints.length > 0 && sp !== undefined && commonServicePort(sp);
      })!;
      const extra = Array.from({ length: PREBUILT_COUNTS + 2 }, (_, i) => makeEndpoint(`10.250.0.${i + 1}`));
      const grown = planOf({ ...cluster, endpointSlices: cluster.endpointSlices.map((sl) => (sl === slice ? { ...sl, endpoints: [...sl.endpoints, ...extra] } : sl)) });
      const more = planOf({ ...cluster, endpointSlices: cluster.endpointSlices.map((sl) => (sl === slice ? { ...sl, endpoints: [...sl.endpoints, ...extra.slice(1)] } : sl)) });
      // Above the prebuilt counts with the counts unchanged: another service gains an endpoint.
      const other = cluster.endpointSlices.find((sl) => sl !== slice && sl.addressType === 'IPv4' && sl.endpoints.length > 0)!;
      const grownOther = planOf({
        ...cluster,
        endpointSlices: cluster.endpointSlices.map((sl) =>
          sl === slice ? { ...sl, endpoints: [...sl.endpoints, ...extra] } : sl === other ? { ...sl, endpoints: [...sl.endpoints, makeEndpoint('10.250.1.1')] } : sl,
        ),
      });
      await backend.apply(target, small);
      const steps = [
        [small, grown, 'full'],
        [grown, more, 'full'],
        [more, grown, 'full'],
        [grown, grownOther, 'incremental'],
        [grownOther, grown, 'incremental'],
        [grown, small, 'full'],
      ] as const;
      for (const [from, to, mode] of steps) {
        const r = await backend.sync(target, from, to);
        expect(r.mode, r.reason).toBe(mode);
        if (mode === 'full') expect(r.reason).toMatch(/^layout maps: rules for endpoint counts up to \d+ become up to \d+/);
        expect(await backend.verify(target, to)).toEqual({ ok: true, differences: [] });
      }
    }, 120_000);
  });
});
