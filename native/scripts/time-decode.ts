// Times the nftnl backend's decode and compare of one 10k-service listing, apart from the
// kernel: each step N times on the same listing. Usage (root): npx tsx native/scripts/time-decode.ts NETNS CLUSTER.json [N]
import { listRuleset } from '@kpb/native';
import { compile } from '@kpb/compiler';
import { rulesetBuilder } from '@kpb/backend-nft';
import { decodedDifferences } from '../../packages/backend-nftnl/src/compare.ts';
import { decodeTable } from '../../packages/backend-nftnl/src/decode.ts';
import { loadCluster } from '../../packages/cli/src/input.ts';
import { resolveSettings } from '../../packages/cli/src/options.ts';

const [netns, file, nArg] = process.argv.slice(2);
if (!netns || !file) throw new Error('usage: time-decode.ts NETNS CLUSTER.json [N]');
const cluster = loadCluster(file);
const { settings } = resolveSettings({ backend: 'nftnl', masqueradeBit: '14', localhostNodeports: true, layout: 'flat', iptables: 'nft', lockWait: '5' }, cluster);
const plan = compile(cluster, settings);
const build = rulesetBuilder({ layout: 'flat' });
const ms = { list: [] as number[], build: [] as number[], decode: [] as number[], compare: [] as number[] };
for (let i = 0; i < Number(nArg ?? 5); i++) {
  let t = performance.now();
  const l = await listRuleset(netns, 'ip', 'kube-proxy', { ruleText: false, dynamicElements: false });
  ms.list.push(performance.now() - t);
  t = performance.now();
  const rs = build(plan);
  ms.build.push(performance.now() - t);
  t = performance.now();
  const table = decodeTable(l);
  ms.decode.push(performance.now() - t);
  t = performance.now();
  const d = decodedDifferences(table, rs);
  ms.compare.push(performance.now() - t);
  if (d.length) console.log(`${d.length} differences`);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [k, v] of Object.entries(ms)) console.log(`${k.padEnd(8)} median ${median(v).toFixed(0)} ms  (${v.map((x) => x.toFixed(0)).join(' ')})`);
