// kpb's own userspace at one scale, no kernel: parsing the generated cluster as a kubectl JSON
// List, compile, the nftnl batch (build + encode), the nft script and the iptables-restore text
// (`generate` = compile + render, as the bench's figure). Median wall and CPU time of N runs each
// (CPU time, user + system of the process, is the steadier figure on a shared machine).
// Run from the repository root: `npx tsx bench/measure/userspace.ts [services] [runs] [only]`
// (`only`: a comma list of parse,compile,nftnl,nft,iptables).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { GENERATED_CLUSTER_CIDR, GENERATED_LOCAL_NODE, generateCluster, parseCluster, toKubernetesJson } from '@kpb/model';
import { compile, nodeSettings } from '@kpb/compiler';
import { createNftnlBackend } from '@kpb/backend-nftnl';
import { createNftBackend } from '@kpb/backend-nft';
import { createIptablesBackend } from '@kpb/backend-iptables';

const services = Number(process.argv[2] ?? 10_000);
const runs = Number(process.argv[3] ?? 7);
const only = new Set((process.argv[4] ?? 'parse,compile,nftnl,nft,iptables').split(','));

const cluster = generateCluster({ services, endpointsPerService: 3, seed: 1 });
const settings = nodeSettings({ nodeName: GENERATED_LOCAL_NODE, clusterCIDR: GENERATED_CLUSTER_CIDR });
const json = toKubernetesJson(cluster);
const plan = compile(cluster, settings);
const nftnl = createNftnlBackend();
const nft = createNftBackend();
const ipt = createIptablesBackend();

const median = (t: number[]): number => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]!;

/** Median wall and CPU milliseconds of `runs` calls after one warm-up call. */
function measure(f: () => unknown): { wall: number; cpu: number } {
  f();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    f();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

const rows: [string, () => unknown][] = [];
if (only.has('parse')) rows.push([`parse (${(json.length / 1e6).toFixed(1)} MB JSON)`, () => parseCluster(json)]);
if (only.has('compile')) rows.push(['compile', () => compile(cluster, settings)]);
if (only.has('nftnl')) {
  // encodePlan builds and encodes one service port at a time (nothing remembered per plan).
  rows.push(['nftnl encodePlan (compiled plan)', () => nftnl.encodePlan(plan)]);
  rows.push(['nftnl generate', () => nftnl.encodePlan(compile(cluster, settings))]);
}
if (only.has('nft')) {
  rows.push(['nft renderText (compiled plan)', () => nft.renderText(plan)]);
  rows.push(['nft generate', () => nft.renderText(compile(cluster, settings))]);
}
if (only.has('iptables')) {
  rows.push(['iptables renderText', () => ipt.renderText(plan)]);
  rows.push(['iptables generate', () => ipt.renderText(compile(cluster, settings))]);
}
console.log(`services ${services}, runs ${runs}, loadavg ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
for (const [name, f] of rows) {
  const m = measure(f);
  console.log(`${name.padEnd(32)} wall ${m.wall.toFixed(0).padStart(6)} ms   cpu ${m.cpu.toFixed(0).padStart(6)} ms`);
}
