/**
 * The figures a run measures, defined once: id (as in results.json), unit, the group that
 * measures it (the `--figures` names), and what it means (the report prints it). A group's
 * figures come out of one measurement, so `run` belongs to the group (see groups.ts).
 */
import type { Variant } from './backends.ts';
import type { Unit } from './results.ts';

export type FigureGroup = 'generate' | 'sync' | 'first-packet' | 'rss-peak';
export const FIGURE_GROUPS: readonly FigureGroup[] = ['generate', 'sync', 'first-packet', 'rss-peak'];

export interface Figure {
  readonly id: string;
  readonly unit: Unit;
  readonly group: FigureGroup;
  /** Its meaning, one sentence (report.md). */
  readonly about: string;
}

export const FIGURES = [
  { id: 'generate', unit: 'ms', group: 'generate', about: 'model → backend output in process (compile + render; nftnl: its netlink batch, `encodePlan`), tinybench' },
  { id: 'render', unit: 'ms', group: 'generate', about: 'plan → backend output only (renderText / batch), tinybench' },
  { id: 'full-sync', unit: 'ms', group: 'sync', about: 'load into an empty namespace, the whole path of `kpb apply`: compile + render + kernel' },
  { id: 'full-sync/userspace', unit: 'ms', group: 'sync', about: 'full-sync wall time minus the kernel stage (compile, render, process overhead)' },
  { id: 'full-sync/kernel', unit: 'ms', group: 'sync', about: 'kernel stage of full-sync as the backend reports it (`ApplyResult.timings.kernel`: tool run or netlink batch)' },
  { id: 'full-sync/userspace-share', unit: '%', group: 'sync', about: 'userspace / full-sync, per sample' },
  { id: 'resync', unit: 'ms', group: 'sync', about: 'full load over an existing ruleset of the same size (compile + apply)' },
  { id: 'resync/userspace', unit: 'ms', group: 'sync', about: 'resync wall time minus the kernel stage' },
  { id: 'resync/kernel', unit: 'ms', group: 'sync', about: 'kernel stage of resync' },
  { id: 'incremental-1', unit: 'ms', group: 'sync', about: 'one service gains or loses an endpoint in a loaded cluster: `backend.sync(target, from, to)`' },
  { id: 'churn-1pct', unit: 'ms', group: 'sync', about: '1% of services gain (then lose) an endpoint at once: `backend.sync`' },
  { id: 'verify', unit: 'ms', group: 'sync', about: '`backend.verify` of the loaded plan' },
  { id: 'flush', unit: 'ms', group: 'sync', about: '`backend.flush` of the loaded plan' },
  { id: 'first-packet-first', unit: 'us', group: 'first-packet', about: 'TCP connect latency client → node rules → pod, to the first service port of the ruleset' },
  { id: 'first-packet-last', unit: 'us', group: 'first-packet', about: 'the same, to the last service port of the ruleset' },
  { id: 'rss-peak', unit: 'MB', group: 'rss-peak', about: 'peak RSS (VmHWM) of a child process that generates, compiles and syncs the cluster' },
] as const satisfies readonly Figure[];

export type FigureId = (typeof FIGURES)[number]['id'];

/** A figure's own measurement, not a part of another (`full-sync`, not `full-sync/kernel`). */
export const isBaseFigure = (f: Figure): boolean => !f.id.includes('/');

export function figuresOf(group: FigureGroup): readonly Figure[] {
  return FIGURES.filter((f) => f.group === group);
}

/** Whether the variant is measured for this figure (its registry entry may list a few). */
export function allows(v: Variant, figure: string): boolean {
  return !v.figures || v.figures.includes(figure.split('/')[0]!);
}

/** The figures a run records for a variant (kernel figures only when measured). */
export function expectedOperations(v: Variant, kernel: boolean): string[] {
  return FIGURES.filter((f) => kernel || f.group === 'generate')
    .map((f) => f.id)
    .filter((id) => allows(v, id));
}
