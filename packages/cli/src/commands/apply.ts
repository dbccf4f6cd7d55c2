import { Command } from 'commander';
import { describeTarget, withTargetLock } from '@kpb/backend';
import { loadBackend } from '../backends.ts';
import { loadCluster } from '../input.ts';
import { describePlans, lockWait, resolvePlans, resolveSettings, resolveTarget, withCommonOptions, type CommonOptions } from '../options.ts';
import { StageClock, familiesNote, familiesOf, formatStages } from '../timing.ts';

export function applyCommand(): Command {
  return withCommonOptions(
    new Command('apply')
      .description("load a cluster's rules into a kernel in one atomic transaction (iptables: one per family), replacing what kpb owned there in those families; prints stage timings")
      .option('-i, --input <file>', 'cluster description (JSON or YAML; - for standard input)'),
  ).action(async (opts: CommonOptions & { input?: string }) => {
    const target = resolveTarget(opts, 'change');
    const clock = new StageClock();
    const cluster = await clock.time('parse', () => loadCluster(opts.input), (c) => `${c.services.length} services, ${c.endpointSlices.length} slices, ${c.nodes.length} nodes`);
    const resolved = resolveSettings(opts, cluster);
    if (resolved.note) process.stderr.write(`kpb: ${resolved.note}\n`);
    const plans = await clock.time('compile', () => resolvePlans(opts, cluster, resolved), describePlans);
    const backend = loadBackend(opts);
    const result = await withTargetLock(target, () => backend.apply(target, plans), lockWait(opts));
    clock.add('render', result.timings.render, `${result.size.count} ${result.size.unit}${familiesNote(result)}`);
    if (result.timings.other !== undefined) clock.add('prepare', result.timings.other);
    clock.add('kernel', result.timings.kernel);
    process.stdout.write(`kpb apply: ${backend.name} (${backend.variant}) → ${describeTarget(target)}, ${familiesOf(plans)}\n${formatStages(clock.stages, clock.total())}\n`);
  });
}
