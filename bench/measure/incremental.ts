/**
 * One-service syncs alone (run as root, from the repository root):
 *   npx tsx bench/measure/incremental.ts [services] [case ids…]
 * For each backend case (default: nft/flat nftnl/flat iptables/nft): a fresh network namespace,
 * one apply of the generated cluster (services × 3 endpoints), then 6 syncs that add and remove
 * one endpoint of one service. Prints each sync's wall time, kernel stage and mode.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BACKEND_CASES } from '@kpb/registry';
import { buildBenchCluster } from '../src/cluster.ts';

const services = Number(process.argv[2] ?? 10_000);
const wanted = process.argv.slice(3);
const ids = wanted.length ? wanted : ['nft/flat', 'nftnl/flat', 'iptables/nft'];
const SYNCS = 6;

async function measure(id: string, ns: string, stateDir: string): Promise<void> {
  const c = BACKEND_CASES.find((x) => x.id === id);
  if (!c) throw new Error(`no case ${id}`);
  const bc = buildBenchCluster(services, 3, 1);
  const backend = c.create({ stateDir });
  const target = { kind: 'netns', name: ns } as const;
  await backend.apply(target, bc.plans);
  const lines: string[] = [];
  for (let i = 0; i < SYNCS; i++) {
    const [from, to] = i % 2 === 0 ? [bc.plans, bc.plusOne] : [bc.plusOne, bc.plans];
    const t0 = performance.now();
    const r = await backend.sync(target, from, to);
    lines.push(`${(performance.now() - t0).toFixed(0)} ms (kernel ${r.timings.kernel.toFixed(0)}, ${r.mode}${r.reason ? `: ${r.reason}` : ''})`);
  }
  console.log(`${id} at ${services}×3: ${lines.join('; ')}`);
}

for (const id of ids) {
  const ns = `kpb-measure-${process.pid}-${id.replace('/', '-')}`;
  const stateDir = mkdtempSync(join(tmpdir(), 'kpb-measure-state-'));
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    await measure(id, ns, stateDir);
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
    rmSync(stateDir, { recursive: true, force: true });
  }
}
