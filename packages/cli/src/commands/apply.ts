import { Command } from 'commander';
import { describeTarget, withTargetLock } from '@kpb/backend';
import { compile } from '@kpb/compiler';
import { loadBackend } from '../backends.ts';
import { loadCluster } from '../input.ts';
import { lockWait, resolveSettings, resolveTarget, withCommonOptions, type CommonOptions } from '../options.ts';
import { StageClock, formatStages } from '../timing.ts';

export function applyCommand(): Command {
  return withCommonOptions(
    new Command('apply')
      .description("load a cluster's rules into a kernel in one atomic transaction, replacing what kpb owned there; prints stage timings")
      .option('-i, --input <file>', 'cluster description (JSON or YAML; - for standard input)'),
  ).action(async (opts: CommonOptions & { input?: string }) => {
    const target = resolveTarget(opts, 'change');
    const clock = new StageClock();
    const cluster = await clock.time('parse', () => loadCluster(opts.input), (c) => `${c.services.length} services, ${c.endpointSlices.length} slices, ${c.nodes.length} nodes`);
    const { settings, note } = resolveSettings(opts, cluster);
    if (note) process.stderr.write(`kpb: ${note}\n`);
    const plan = await clock.time('compile', () => compile(cluster, settings), (p) => `${p.servicePorts.length} service ports, ${p.endpointCount} endpoints`);
    const backend = loadBackend(opts);
    const result = await withTargetLock(target, () => backend.apply(target, plan), lockWait(opts));
    clock.add('render', result.timings.render, `${result.size.count} ${result.size.unit}`);
    if (result.timings.other !== undefined) clock.add('prepare', result.timings.other);
    clock.add('kernel', result.timings.kernel);
    process.stdout.write(`kpb apply: ${backend.name} (${backend.variant}) → ${describeTarget(target)}\n${formatStages(clock.stages, clock.total())}\n`);
  });
}
