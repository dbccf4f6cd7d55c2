/**
 * verify beside the listing tool alone (run as root, from the repository root):
 *   npx tsx bench/measure/verify.ts [services] [case ids…]
 * For each backend case (default: nftnl/flat nft/flat iptables/legacy iptables/nft): a fresh
 * network namespace, one apply of the generated cluster (services × 3 endpoints), then `verify`
 * 3× and the tool that lists the table 3× (`nft list table`; the iptables save tool; nftnl: the
 * addon's listRuleset). Prints medians and the ratio; the load average is printed first.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { listRuleset } from '@kpb/native';
import { BACKEND_CASES } from '@kpb/registry';
import { buildBenchCluster } from '../src/cluster.ts';

const services = Number(process.argv[2] ?? 10_000);
const wanted = process.argv.slice(3);
const ids = wanted.length ? wanted : ['nftnl/flat', 'nft/flat', 'iptables/legacy', 'iptables/nft'];
const REPEATS = 3;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function timed(repeats: number, run: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await run();
    out.push(performance.now() - t0);
  }
  return out;
}

/** The listing tool alone, as the case's verify runs it. */
function toolOf(id: string, ns: string): () => Promise<unknown> {
  if (id.startsWith('nftnl/')) return async () => listRuleset(ns, 'ip', 'kube-proxy');
  const argv = id.startsWith('nft/') ? ['nft', 'list', 'table', 'ip', 'kube-proxy'] : [`iptables-${id.split('/')[1]}-save`];
  return async () => execFileSync('ip', ['netns', 'exec', ns, ...argv], { maxBuffer: 1 << 30 });
}

const { plans: [plan] } = buildBenchCluster(services, 3, 1);
console.log(`${services} services × 3, load ${load()}`);
for (const id of ids) {
  const c = BACKEND_CASES.find((x) => x.id === id);
  if (!c) throw new Error(`no case ${id}`);
  const backend = c.create();
  const ns = `kpb-hfast-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const target = { kind: 'netns', name: ns } as const;
    await backend.apply(target, plan);
    const verify = await timed(REPEATS, async () => {
      const r = await backend.verify(target, plan);
      if (!r.ok) throw new Error(`${id}: verify found ${r.differences.length} differences`);
    });
    const tool = await timed(REPEATS, toolOf(id, ns));
    const v = median(verify);
    const t = median(tool);
    console.log(`${id}: verify ${verify.map((x) => x.toFixed(0)).join('/')} ms, tool ${tool.map((x) => x.toFixed(0)).join('/')} ms, ratio ${(v / t).toFixed(2)} (load ${load()})`);
  } finally {
    execFileSync('ip', ['netns', 'delete', ns]);
  }
}
