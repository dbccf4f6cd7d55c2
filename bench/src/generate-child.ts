/**
 * The generate group's child: the figures generate (compile + render), render, compile and
 * parse-kubectl, timed with tinybench in a process that holds one cluster, as a kpb run does. In
 * the bench's own process they also paid for the bench's heap (every scale's cluster, plans and
 * kubectl text, the samples so far), which V8's full collections mark over and over: nftnl/maps
 * render at 10k took 453 ms there and 265 ms alone (bench/measure, 9 runs each, one machine).
 * Needs no root and touches nothing; prints one JSON line of samples.
 *
 *   node --import tsx generate-child.ts '{"id":"nft/flat","services":1000,"endpoints":3,"seed":1,"family":"ipv4","ms":500,"iterations":3}'
 */
import { Bench } from 'tinybench';
import { parseCluster, toKubernetesJson } from '@kpb/model';
import { loadVariant, VARIANTS } from './backends.ts';
import { buildBenchCluster } from './cluster.ts';
import { allows } from './figures.ts';
import type { FamilyMode } from './results.ts';

export interface GenerateArgs {
  /** The variant's registry id. */
  readonly id: string;
  readonly services: number;
  readonly endpoints: number;
  readonly seed: number;
  readonly family: FamilyMode;
  /** tinybench's time per task (ms) and least iterations. */
  readonly ms: number;
  readonly iterations: number;
}

export interface GenerateOutput {
  /** Milliseconds per figure id. */
  readonly samples: Record<string, number[]>;
  /** What `render` builds, when it is not the text. */
  readonly renderNote?: string;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as GenerateArgs;
  const v = VARIANTS.find((x) => x.id === args.id);
  if (!v) throw new Error(`unknown variant ${args.id}`);
  const { render, renderNote } = loadVariant(v);
  const bc = buildBenchCluster(args.services, args.endpoints, args.seed, args.family);
  const bench = new Bench({ time: args.ms, iterations: args.iterations, warmup: true, warmupIterations: 1, warmupTime: 0, retainSamples: true, throws: true });
  bench.add('generate', () => void render(bc.compile()));
  bench.add('render', () => void render(bc.plans));
  if (allows(v, 'compile')) bench.add('compile', () => void bc.compile());
  if (allows(v, 'parse-kubectl')) {
    const text = toKubernetesJson(bc.cluster);
    bench.add('parse-kubectl', () => void parseCluster(text, 'bench cluster'));
  }
  await bench.run();
  const samples: Record<string, number[]> = {};
  for (const t of bench.tasks) {
    const r = t.result;
    if (r.state === 'completed' && r.latency.samples) samples[t.name] = [...r.latency.samples];
  }
  const out: GenerateOutput = renderNote === undefined ? { samples } : { samples, renderNote };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`generate-child: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
