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
  /** Measured only for these backends (default: every backend its group runs). */
  readonly backends?: readonly string[];
}

/**
 * What an incremental figure measures (its `about` says so): the sync as kube-proxy does it,
 * trusting its own last commit while the ruleset generation holds.
 */
const TRUSTING_SYNC = 'generation-trusting sync: no read-back unless the ruleset generation moved (nf_tables backends); iptables-legacy reads back';

export const FIGURES = [
  { id: 'generate', unit: 'ms', group: 'generate', about: 'model → backend output (compile + render; nftnl: its netlink batch, `encodePlan`), tinybench in a child process that holds one cluster, as a kpb run does (so are render, compile and parse-kubectl)' },
  { id: 'render', unit: 'ms', group: 'generate', about: 'plan → backend output only (renderText / batch), tinybench' },
  { id: 'compile', unit: 'ms', group: 'generate', about: 'cluster → plan alone (`compile`; the same work for every backend, measured in each one\'s round), tinybench' },
  { id: 'parse-kubectl', unit: 'ms', group: 'generate', about: 'the cluster as a `kubectl get services,endpointslices,nodes -A -o json` List → validated model (`parseCluster`; backend-independent), tinybench' },
  { id: 'full-sync', unit: 'ms', group: 'sync', about: 'load into an empty namespace, the whole path of `kpb apply`: compile + render + kernel' },
  { id: 'full-sync/userspace', unit: 'ms', group: 'sync', about: 'full-sync wall time minus the kernel stage (compile, render, process overhead)' },
  { id: 'full-sync/kernel', unit: 'ms', group: 'sync', about: 'kernel stage of full-sync as the backend reports it (`ApplyResult.timings.kernel`: tool run or netlink batch)' },
  { id: 'full-sync/userspace-share', unit: '%', group: 'sync', about: 'userspace / full-sync, per sample' },
  { id: 'objects/chains', unit: 'count', group: 'sync', about: 'chains in the kernel after full-sync, counted from `nft -j list ruleset` (iptables-legacy: `iptables-legacy-save`)' },
  { id: 'objects/rules', unit: 'count', group: 'sync', about: 'rules in the kernel after full-sync (same listing)' },
  { id: 'objects/sets', unit: 'count', group: 'sync', about: 'named sets and maps in the kernel after full-sync (same listing; anonymous sets are part of their rules)' },
  { id: 'objects/elements', unit: 'count', group: 'sync', about: 'elements of the named sets and maps after full-sync (same listing)' },
  { id: 'objects/sent', unit: 'count', group: 'sync', about: 'what the full sync sent: lines of `iptables-restore` or `nft -f` input, or netlink messages of the nftnl batch (batch begin and end included)' },
  { id: 'objects/bytes', unit: 'count', group: 'sync', about: 'bytes the full sync sent: the text given to the tool, or the netlink batch' },
  { id: 'resync', unit: 'ms', group: 'sync', about: 'full load over an existing ruleset of the same size (compile + apply)' },
  { id: 'resync/userspace', unit: 'ms', group: 'sync', about: 'resync wall time minus the kernel stage' },
  { id: 'resync/kernel', unit: 'ms', group: 'sync', about: 'kernel stage of resync' },
  { id: 'resync/userspace-share', unit: '%', group: 'sync', about: 'userspace / resync, per sample' },
  { id: 'incremental-1', unit: 'ms', group: 'sync', about: `one service gains or loses an endpoint in a loaded cluster: \`backend.sync(target, from, to)\`, ${TRUSTING_SYNC}` },
  { id: 'incremental-1/userspace', unit: 'ms', group: 'sync', about: 'incremental-1 wall time minus the kernel stage (`SyncResult.timings.kernel`); a read-back counts here' },
  { id: 'incremental-1/kernel', unit: 'ms', group: 'sync', about: 'kernel stage of incremental-1: the update sent (tool run or netlink batch)' },
  { id: 'incremental-1/userspace-share', unit: '%', group: 'sync', about: 'userspace / incremental-1, per sample' },
  { id: 'churn-1pct', unit: 'ms', group: 'sync', about: `1% of services gain (then lose) an endpoint at once: \`backend.sync\`, ${TRUSTING_SYNC}` },
  { id: 'churn-1pct/userspace', unit: 'ms', group: 'sync', about: 'churn-1pct wall time minus the kernel stage' },
  { id: 'churn-1pct/kernel', unit: 'ms', group: 'sync', about: 'kernel stage of churn-1pct' },
  { id: 'churn-1pct/userspace-share', unit: '%', group: 'sync', about: 'userspace / churn-1pct, per sample' },
  { id: 'verify', unit: 'ms', group: 'sync', about: '`backend.verify` of the loaded plan' },
  { id: 'verify/tool', unit: 'ms', group: 'sync', about: 'the listing tool alone, same round: `nft list table ip kube-proxy` (nft, nftnl), `iptables-nft-save` / `iptables-legacy-save`; dual: the ip and ip6 listings summed' },
  { id: 'verify/addon', unit: 'ms', group: 'sync', about: "the addon's `listRuleset` of the table alone, same round (what the nftnl backend reads with); dual: both tables summed", backends: ['nftnl'] },
  { id: 'verify/kernel', unit: 'ms', group: 'sync', about: "the listing the backend reads with, timed alone: verify/addon for nftnl, verify/tool for the others; dual: both families' listings run at once, as verify reads them" },
  { id: 'verify/userspace', unit: 'ms', group: 'sync', about: "verify minus verify/kernel: kpb's decoding and comparing" },
  { id: 'verify/userspace-share', unit: '%', group: 'sync', about: 'verify/userspace / verify, per round' },
  {
    id: 'drift-check',
    unit: 'ms',
    group: 'sync',
    about:
      'what a sync costs when it cannot trust the ruleset generation: a fresh backend instance (no record of a previous commit; nftnl: an empty state directory) runs `sync(target, plan, plan)`, which reads the kernel back and compares; the update is empty',
  },
  { id: 'drift-check/userspace', unit: 'ms', group: 'sync', about: 'drift-check minus drift-check/kernel' },
  { id: 'drift-check/kernel', unit: 'ms', group: 'sync', about: 'the listing alone of the same round (dual: the families one after the other, as a sync reads them) plus the kernel stage of the sync (none: the update is empty)' },
  { id: 'drift-check/userspace-share', unit: '%', group: 'sync', about: 'drift-check/userspace / drift-check, per round' },
  { id: 'flush', unit: 'ms', group: 'sync', about: '`backend.flush` of the loaded plan' },
  { id: 'first-packet-first', unit: 'us', group: 'first-packet', about: 'TCP connect latency client → node rules → pod, to the first service port of the ruleset (IPv4; dual: every family loaded, the IPv4 ruleset probed; not measured IPv6 only)' },
  { id: 'first-packet-last', unit: 'us', group: 'first-packet', about: 'the same, to the last service port of the ruleset (IPv4)' },
  { id: 'rss-peak', unit: 'MB', group: 'rss-peak', about: 'peak RSS (VmHWM) of a child process that generates, compiles and syncs the cluster' },
] as const satisfies readonly Figure[];

export type FigureId = (typeof FIGURES)[number]['id'];

/** A figure's own measurement, not a part of another (`full-sync`, not `full-sync/kernel`). */
export const isBaseFigure = (f: Figure): boolean => !f.id.includes('/');

export function figuresOf(group: FigureGroup): readonly Figure[] {
  return FIGURES.filter((f) => f.group === group);
}

/** Whether the variant is measured for this figure (its registry entry may list a few; a figure may name its backends). */
export function allows(v: Variant, figure: string): boolean {
  const only: readonly string[] | undefined = (FIGURES as readonly Figure[]).find((f) => f.id === figure)?.backends;
  return (!v.figures || v.figures.includes(figure.split('/')[0]!)) && (!only || only.includes(v.backend));
}

/** The figures a run records for a variant (kernel figures only when measured). */
export function expectedOperations(v: Variant, kernel: boolean): string[] {
  return FIGURES.filter((f) => kernel || f.group === 'generate')
    .map((f) => f.id)
    .filter((id) => allows(v, id));
}
