/**
 * Change tracking between two plans (or two models): which service ports were added, removed or
 * changed. A service port whose plan is identical in both is not a change, whatever happened to
 * the objects behind it (kube-proxy's change trackers drop such no-op updates too).
 */
import type { Cluster, IPFamily } from '@kpb/model';
import { compile } from './compile.ts';
import type { NodeSettings, Plan, PlanChanges, ServicePortPlan } from './types.ts';

function byKey(plan: Plan): Map<string, ServicePortPlan> {
  return new Map(plan.servicePorts.map((sp) => [sp.key, sp]));
}

/** Structural equality of two plan values (plain data: objects, arrays, strings, numbers, booleans). */
export function samePlanValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => samePlanValue(v, bb[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => samePlanValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export function diffPlans(from: Plan, to: Plan): PlanChanges {
  const before = byKey(from);
  const after = byKey(to);
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const [key, sp] of after) {
    const old = before.get(key);
    if (!old) added.push(key);
    else if (!samePlanValue(old, sp)) changed.push(key);
  }
  for (const key of before.keys()) if (!after.has(key)) removed.push(key);
  const settingsChanged =
    from.family !== to.family || !samePlanValue(from.settings, to.settings) || !samePlanValue(from.nodeIPs, to.nodeIPs);
  return { added, removed, changed, settingsChanged };
}

/** Which service ports changed between two models, for the same node. */
export function diffClusters(from: Cluster, to: Cluster, settings: NodeSettings, family: IPFamily = 'IPv4'): PlanChanges {
  return diffPlans(compile(from, settings, family), compile(to, settings, family));
}

export function hasChanges(changes: PlanChanges): boolean {
  return changes.settingsChanged || changes.added.length + changes.removed.length + changes.changed.length > 0;
}
