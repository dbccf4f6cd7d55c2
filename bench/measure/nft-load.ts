/**
 * nft load-time measurement (run as root): `npx tsx bench/measure/nft-load.ts [1000,3000,10000] [flat,kube-proxy]`.
 * Each scale and layout runs in its own throwaway network namespace. Every nft run is killed
 * after 120 s; the reload (apply onto an already loaded table) is skipped when the first load
 * took more than 30 s (it costs several times the load with the kube-proxy layout).
 */
import { compile, nodeSettings } from '@kpb/compiler';
import { DEFAULT_MIX, GENERATED_CLUSTER_CIDR, GENERATED_LOCAL_NODE, generateCluster } from '@kpb/model';
import type { Cluster } from '@kpb/model';
import { canUseKernel } from '@kpb/testing';
import { createNftBackend } from '@kpb/backend-nft';
import { deleteNetns, makeNetns } from '../../packages/backend-nft/test/fixtures.ts';

const scales = (process.argv[2] ?? '1000,3000,10000').split(',').map(Number);
const layouts = (process.argv[3] ?? 'flat,kube-proxy').split(',') as ('flat' | 'kube-proxy')[];
/** KPB_MIX=plain: ClusterIP services only (every mix probability 0); default: the generator's mix. */
const plain = process.env.KPB_MIX === 'plain';
const PLAIN_MIX = Object.fromEntries(Object.keys(DEFAULT_MIX).map((k) => [k, 0]));
const settings = nodeSettings({ nodeName: GENERATED_LOCAL_NODE, clusterCIDR: GENERATED_CLUSTER_CIDR });
const s = (ms: number) => (ms / 1000).toFixed(2);

/** The same cluster with one more endpoint for the first service that has a slice. */
function oneServiceChanged(c: Cluster): Cluster {
  const i = c.endpointSlices.findIndex((x) => x.endpoints.length > 0);
  const sl = c.endpointSlices[i]!;
  const first = sl.endpoints[0]!;
  const extra = { ...first, addresses: ['10.255.255.254'] };
  return { ...c, endpointSlices: c.endpointSlices.map((x, j) => (j === i ? { ...x, endpoints: [...x.endpoints, extra] } : x)) };
}

if (!canUseKernel()) {
  console.error('needs root');
  process.exit(1);
}
console.log(`mix: ${plain ? 'plain ClusterIP' : 'generator default'}`);
console.log('| layout | services | service ports | endpoints | script lines | render s | load s | reload s | readBack s | 1-service sync s (other/render/kernel) |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const n of scales) {
  const cluster = generateCluster({ services: n, endpointsPerService: 3, seed: 1, ...(plain ? { mix: PLAIN_MIX } : {}) });
  const plan = compile(cluster, settings);
  const plan2 = compile(oneServiceChanged(cluster), settings);
  for (const layout of layouts) {
    const b = createNftBackend({ layout, timeoutMs: 120_000 });
    const ns = makeNetns();
    try {
      const load = await b.apply(ns, plan);
      let reload = '-';
      let rb = '-';
      let sync = '-';
      if (load.timings.kernel < 30_000) {
        const r = await b.apply(ns, plan);
        reload = s(r.timings.kernel);
      }
      const t0 = performance.now();
      await b.readBack(ns);
      rb = s(performance.now() - t0);
      if (load.timings.kernel < 30_000) {
        const r = await b.sync(ns, plan, plan2);
        if (r.mode !== 'incremental') throw new Error(`sync was ${r.mode}: ${r.reason}`);
        const v = await b.verify(ns, plan2);
        if (!v.ok) throw new Error(`after sync: ${v.differences.length} differences`);
        sync = `${s(r.timings.render + r.timings.kernel + (r.timings.other ?? 0))} (${s(r.timings.other ?? 0)}/${s(r.timings.render)}/${s(r.timings.kernel)}), ${r.size.count} lines`;
        // Back, without the drift check.
        const trusting = createNftBackend({ layout, timeoutMs: 120_000 });
        const r2 = await trusting.sync(ns, plan2, plan);
        if (r2.mode !== 'incremental' || !(await b.verify(ns, plan)).ok) throw new Error('sync back failed');
        sync += `; no drift check: ${s(r2.timings.render + r2.timings.kernel + (r2.timings.other ?? 0))} (kernel ${s(r2.timings.kernel)})`;
      }
      console.log(`| ${layout} | ${n} | ${plan.servicePorts.length} | ${plan.endpointCount} | ${load.size.count} | ${s(load.timings.render)} | ${s(load.timings.kernel)} | ${reload} | ${rb} | ${sync} |`);
    } catch (e) {
      console.log(`| ${layout} | ${n} | ${plan.servicePorts.length} | ${plan.endpointCount} | - | - | failed: ${(e as Error).message.split('\n')[0]} | | | |`);
    } finally {
      deleteNetns(ns);
    }
  }
}
