import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { GENERATED_CLUSTER_CIDR, GENERATED_CLUSTER_CIDR_V6, GENERATED_LOCAL_NODE, generateCluster, toKubernetesList, toKubernetesYaml } from '@kpb/model';
import { UsageError } from '../errors.ts';

function count(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new UsageError(`${name} ${JSON.stringify(value)} is not a whole number from ${min} to ${max}`);
  return n;
}

export function generateCommand(): Command {
  return new Command('generate')
    .description(
      `write a synthetic cluster (Services, EndpointSlices, Nodes) as kubectl-style JSON or YAML; deterministic per seed.\n` +
        `Generated clusters use node ${GENERATED_LOCAL_NODE} and cluster CIDR ${GENERATED_CLUSTER_CIDR} (IPv6: ${GENERATED_CLUSTER_CIDR_V6}).`,
    )
    .option('--services <n>', 'number of services', '1000')
    .option('--endpoints <m>', 'endpoints per service', '3')
    .option('--seed <s>', 'random seed', '1')
    .option('--nodes <k>', 'number of nodes', '3')
    .addOption(
      new Option('--family <family>', 'ipv4, ipv6, or dual (80% of services dual-stack, 10% IPv4 only, 10% IPv6 only; nodes with both addresses)')
        .choices(['ipv4', 'ipv6', 'dual'])
        .default('ipv4'),
    )
    .option('-o, --output <file>', 'file to write (default: standard output)')
    .addOption(new Option('--format <format>', 'output format (default: from the file name, else json)').choices(['json', 'yaml']))
    .action((opts: { services: string; endpoints: string; seed: string; nodes: string; family: string; output?: string; format?: string }) => {
      const t0 = performance.now();
      const cluster = generateCluster({
        services: count('--services', opts.services, 0, 1_000_000),
        endpointsPerService: count('--endpoints', opts.endpoints, 0, 1000),
        seed: count('--seed', opts.seed, 0, 2 ** 32 - 1),
        nodes: count('--nodes', opts.nodes, 1, 10_000),
        families: opts.family === 'dual' ? 'dual' : opts.family === 'ipv6' ? 'IPv6' : 'IPv4',
      });
      const format = opts.format ?? (opts.output && /\.ya?ml$/i.test(opts.output) ? 'yaml' : 'json');
      const text = format === 'yaml' ? toKubernetesYaml(cluster) : JSON.stringify(toKubernetesList(cluster)) + '\n';
      if (opts.output) {
        writeFileSync(opts.output, text);
        const slices = cluster.endpointSlices.length;
        process.stderr.write(
          `kpb generate: ${cluster.services.length} services, ${slices} endpoint slices, ${cluster.nodes.length} nodes → ${opts.output} (${(text.length / 1e6).toFixed(1)} MB, ${(performance.now() - t0).toFixed(0)} ms)\n`,
        );
      } else process.stdout.write(text);
    });
}
