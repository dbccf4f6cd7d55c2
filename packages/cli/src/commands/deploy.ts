import { Command } from 'commander';
import { UsageError } from '../errors.ts';

export function deployCommand(): Command {
  const deploy = new Command('deploy').description('run the bench on many hosts of a Kubernetes cluster (see bench/deploy/README.md)');
  deploy
    .command('manifests')
    .description('print the YAML of a Namespace, a ServiceAccount and an Indexed Job running the bench image once on each node; apply with `kubectl apply -f -`')
    // main.ts turns commander's errors into exit 2 for the top-level commands; this one is a level down.
    .exitOverride()
    .requiredOption('--nodes <list>', 'node names (kubernetes.io/hostname), comma-separated: one pod on each')
    .requiredOption('--image <ref>', 'the bench image (built from bench/deploy/Containerfile)')
    .option('--namespace <name>', 'namespace of the objects', 'kpb-bench')
    .option('--args <args>', 'arguments of the bench run in each pod, space-separated', '--quick')
    .action(async (opts: { nodes: string; image: string; namespace: string; args: string }) => {
      const nodes = opts.nodes.split(',').map((s) => s.trim()).filter(Boolean);
      if (!nodes.length) throw new UsageError('--nodes: no node name given');
      const { manifestsYaml } = await import('@kpb/bench');
      process.stdout.write(manifestsYaml({ nodes, image: opts.image, namespace: opts.namespace, args: opts.args.split(/\s+/).filter(Boolean) }));
    });
  return deploy;
}
