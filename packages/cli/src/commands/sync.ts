import { Command } from 'commander';
import { describeTarget, withTargetLock } from '@kpb/backend';
import { loadBackend } from '../backends.ts';
import { UsageError } from '../errors.ts';
import { loadCluster } from '../input.ts';
import { lockWait, resolveFamilies, resolvePlans, resolveSettings, resolveTarget, withCommonOptions, type CommonOptions } from '../options.ts';
import { StageClock, familiesNote, familiesOf, formatStages } from '../timing.ts';

export function syncCommand(): Command {
  return withCommonOptions(
    new Command('sync')
      .description(
        'bring a kernel from the rules of one cluster description (--from) to another (--to), sending only what changed; ' +
          'falls back to a full apply, and says why, when the kernel does not hold what --from says',
      )
      .option('--from <file>', 'the cluster description the kernel holds now (omit for a full apply)')
      .option('--to <file>', 'the cluster description to reach'),
  ).action(async (opts: CommonOptions & { from?: string; to?: string }) => {
    const target = resolveTarget(opts, 'change');
    if (opts.to === undefined) throw new UsageError('--to FILE is required');
    const clock = new StageClock();
    const [from, to] = await clock.time('parse', () => [opts.from === undefined ? undefined : loadCluster(opts.from, '--from'), loadCluster(opts.to, '--to')] as const);
    const resolved = resolveSettings(opts, to);
    if (resolved.note) process.stderr.write(`kpb: ${resolved.note}\n`);
    // Without --family, each side holds its own families: a family only --from has is removed.
    const [fromPlans, toPlans] = await clock.time('compile', () => [from && resolvePlans(opts, from, resolved, resolveFamilies(opts, from)), resolvePlans(opts, to, resolved)] as const);
    const backend = loadBackend(opts);
    const result = await withTargetLock(target, () => backend.sync(target, fromPlans, toPlans), lockWait(opts));
    clock.add('render', result.timings.render, `${result.size.count} ${result.size.unit}${familiesNote(result)}`);
    if (result.timings.other !== undefined) clock.add('check', result.timings.other);
    clock.add('kernel', result.timings.kernel);
    const how =
      result.mode === 'incremental'
        ? `incremental, ${result.changedServicePorts.length} service port(s) changed`
        : `full apply (${result.reason ?? 'no reason given'})`;
    process.stdout.write(`kpb sync: ${backend.name} (${backend.variant}) → ${describeTarget(target)}, ${familiesOf(toPlans)}: ${how}\n${formatStages(clock.stages, clock.total())}\n`);
  });
}
