/**
 * The `rss-peak` child: generate the cluster, compile, load it with the backend (a full sync into
 * the namespace the parent made), then print its own peak RSS (VmHWM). Run by the parent with a
 * time cap; it touches nothing but that namespace.
 *
 *   node --import tsx rss-child.ts '{"id":"nftnl/flat","services":1000,"endpoints":3,"seed":1,"family":"dual","ns":"kpb-bench-…"}'
 */
import { readFileSync } from 'node:fs';
import { loadVariant, VARIANTS } from './backends.ts';
import { buildBenchCluster } from './cluster.ts';
import type { FamilyMode } from './results.ts';

interface Args {
  /** The variant's registry id. */
  id: string;
  services: number;
  endpoints: number;
  seed: number;
  /** The run's family mode (default ipv4). */
  family?: FamilyMode;
  ns?: string;
}

function vmHWMkB(): number {
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error('no VmHWM in /proc/self/status');
  return Number(m[1]);
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as Args;
  const v = VARIANTS.find((x) => x.id === args.id);
  if (!v) throw new Error(`unknown variant ${args.id}`);
  if (args.ns !== undefined && !/^kpb-bench-\d+-\d+$/.test(args.ns)) throw new Error(`refusing namespace ${args.ns}`);
  const { backend } = loadVariant(v);
  const t0 = performance.now();
  const bc = buildBenchCluster(args.services, args.endpoints, args.seed, args.family ?? 'ipv4');
  const mode = args.ns ? 'sync' : 'generate';
  if (args.ns) await backend.sync({ kind: 'netns', name: args.ns }, undefined, bc.plans);
  else backend.renderText(bc.plans);
  process.stdout.write(`${JSON.stringify({ vmHWMkB: vmHWMkB(), ms: performance.now() - t0, mode })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`rss-child: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
