import { Command } from 'commander';
import { describeTarget, withTargetLock } from '@kpb/backend';
import { loadBackend } from '../backends.ts';
import { lockWait, resolveFamilies, resolveTarget, withCommonOptions, type CommonOptions } from '../options.ts';

export function flushCommand(): Command {
  return withCommonOptions(
    new Command('flush').description("remove every rule, chain, set and table the backend owns in both IP families (or --family's), and nothing else (others' rules stay)"),
  ).action(async (opts: CommonOptions) => {
    const target = resolveTarget(opts, 'change');
    const backend = loadBackend(opts);
    const t0 = performance.now();
    const families = resolveFamilies(opts);
    await withTargetLock(target, () => backend.flush(target, families), lockWait(opts));
    process.stdout.write(`kpb flush: removed ${backend.name} rules (${families.join(' + ')}) from ${describeTarget(target)} (${(performance.now() - t0).toFixed(0)} ms)\n`);
  });
}
