/**
 * The one sync. Every backend's `sync` runs `runSync` with its own hooks; the decisions and the
 * reasons a sync gives for a full apply live here:
 *
 *   no previous plan → full; settings changed → full; the plans alone ask for full → full;
 *   the kernel does not hold `from` (drift) → full; the diff asks for full → full;
 *   otherwise send the update (and if sending fails in a way a full apply repairs → full).
 */
import { diffPlans, settingsChanged } from '@kpb/compiler';
import type { Plan, PlanDiff } from '@kpb/compiler';
import { systemClock } from './ports.ts';
import type { Clock } from './ports.ts';
import type { ApplyResult, Difference, StageTimings, SyncResult } from './types.ts';

export const NO_PREVIOUS_PLAN = 'no previous plan known';
export const SETTINGS_CHANGED = 'node settings, node IPs or family changed';

/** The kernel does not hold `from`; `readBackBecause`: why it was read back (when not always). */
function driftReason(differences: readonly Difference[], readBackBecause?: string): string {
  const first = differences[0];
  const found =
    differences.length === 0
      ? 'same objects, listed differently'
      : `${differences.length} difference(s), first: ${first!.kind} ${first!.object}`;
  return `drift: the kernel does not hold the previous plan (${found})${readBackBecause ? `; read back because ${readBackBecause}` : ''}`;
}

/** An incremental sync that had to read the kernel back to trust it. */
function readBackReason(because: string): string {
  return `kernel read back and found to hold --from (${because})`;
}

function updateFailedReason(message: string): string {
  return `incremental update failed, full apply instead: ${message}`;
}

/** What a drift check found: whether the kernel holds `from`, and how the backend knows. */
export type DriftCheck =
  | { readonly holdsFrom: true; readonly readBackBecause?: string }
  | { readonly holdsFrom: false; readonly differences: readonly Difference[]; readonly readBackBecause?: string };

/** The update from `from` to `to`, or why a full apply is needed instead. */
export type Update<U> =
  | { readonly fullReason: string }
  | {
      readonly update: U;
      /** Service port keys the update touches (default: every added, changed and removed one). */
      readonly changedServicePorts?: readonly string[];
    };

/** What sending an update did, or why it failed in a way a full apply repairs. */
export type Sent = Pick<ApplyResult, 'timings' | 'size'> | { readonly failed: string };

/** What a backend supplies to `runSync` (bound to one target and one sync). */
export interface SyncHooks<U> {
  /** Load `to` in full, replacing whatever kpb owned: the fall-back. */
  applyFull(to: Plan): Promise<ApplyResult>;
  /** A reason for a full apply that the two plans alone give (settings aside), found before the kernel is read. */
  planFullReason?(from: Plan, to: Plan): string | undefined;
  /** Does the kernel hold `from`? Prove it unchanged, or read it back and compare. */
  checkDrift(from: Plan): Promise<DriftCheck>;
  /** Work out the update (no kernel access). */
  diff(from: Plan, to: Plan, changes: PlanDiff): Update<U>;
  /** Send the update to the kernel. */
  send(update: U, to: Plan, changes: PlanDiff): Promise<Sent>;
}

/** Bring the kernel from `from` to `to` with the backend's hooks. */
export async function runSync<U>(hooks: SyncHooks<U>, from: Plan | undefined, to: Plan, clock: Clock = systemClock): Promise<SyncResult> {
  const spent = { render: 0, other: 0 };
  const timed = async <T>(stage: 'render' | 'other', work: () => T | Promise<T>): Promise<T> => {
    const t0 = clock();
    try {
      return await work();
    } finally {
      spent[stage] += clock() - t0;
    }
  };
  const full = async (reason: string): Promise<SyncResult> => {
    const r = await hooks.applyFull(to);
    return { ...r, timings: addTimings(r.timings, spent), mode: 'full', reason, changedServicePorts: to.servicePorts.map((sp) => sp.key) };
  };
  if (!from) return full(NO_PREVIOUS_PLAN);
  if (settingsChanged(from, to)) return full(SETTINGS_CHANGED);
  const planReason = await timed('render', () => hooks.planFullReason?.(from, to));
  if (planReason) return full(planReason);
  const drift = await timed('other', () => hooks.checkDrift(from));
  if (!drift.holdsFrom) return full(driftReason(drift.differences, drift.readBackBecause));
  const changes = await timed('other', () => diffPlans(from, to));
  const update = await timed('render', () => hooks.diff(from, to, changes));
  if ('fullReason' in update) return full(update.fullReason);
  const sent = await hooks.send(update.update, to, changes);
  if ('failed' in sent) return full(updateFailedReason(sent.failed));
  return {
    mode: 'incremental',
    ...(drift.readBackBecause ? { reason: readBackReason(drift.readBackBecause) } : {}),
    timings: addTimings(sent.timings, spent),
    size: sent.size,
    changedServicePorts: update.changedServicePorts ?? [...changes.added, ...changes.changed, ...changes.removed],
  };
}

function addTimings(t: StageTimings, spent: { readonly render: number; readonly other: number }): StageTimings {
  return { render: t.render + spent.render, kernel: t.kernel, other: (t.other ?? 0) + spent.other };
}
