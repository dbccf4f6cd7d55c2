/**
 * Change tracking between two plans (or two models): which service ports were added, removed or
 * changed. A service port whose plan is identical in both is not a change, whatever happened to
 * the objects behind it (kube-proxy's change trackers drop such no-op updates too).
 *
 * Cheap enough to run on every sync: a merge-join over the service ports (compile() leaves them
 * sorted by key), an allocation-free structural comparison with identical objects
 * short-circuiting, and the result remembered per pair of plan objects (plans are immutable).
 */
import type { Cluster, IPFamily } from '@kpb/model';
import { compile } from './compile.ts';
import type { NodeSettings, Plan, PlanChanges, PlanDiff, ServicePortPlan } from './types.ts';

/** Structural equality of two plan values (plain data: objects, arrays, strings, numbers, booleans). */
export function samePlanValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const isArray = Array.isArray(a);
  if (isArray !== Array.isArray(b)) return false;
  if (isArray) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!samePlanValue(x[i], y[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keysOfX = 0;
  for (const k in x) {
    if (!Object.prototype.hasOwnProperty.call(y, k) || !samePlanValue(x[k], y[k])) return false;
    keysOfX++;
  }
  let keysOfY = 0;
  for (const k in y) if (Object.prototype.hasOwnProperty.call(y, k)) keysOfY++;
  return keysOfX === keysOfY;
}

/** Family, node settings, node IPs or NodePort addresses differ: every backend rebuilds everything. */
export function settingsChanged(from: Plan, to: Plan): boolean {
  return (
    from.family !== to.family ||
    !samePlanValue(from.settings, to.settings) ||
    !samePlanValue(from.nodeIPs, to.nodeIPs) ||
    !samePlanValue(from.nodePortIPs, to.nodePortIPs)
  );
}

/** The service-port lists of a diff, filled in as the join finds them. */
interface ServicePortChanges {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
  readonly before: ServicePortPlan[];
  readonly after: ServicePortPlan[];
}

const newChanges = (): ServicePortChanges => ({ added: [], removed: [], changed: [], before: [], after: [] });

function recordPair(out: ServicePortChanges, old: ServicePortPlan, sp: ServicePortPlan): void {
  if (old === sp || samePlanValue(old, sp)) return;
  out.changed.push(sp.key);
  out.before.push(old);
  out.after.push(sp);
}

function sortedByKey(servicePorts: readonly ServicePortPlan[]): boolean {
  for (let i = 1; i < servicePorts.length; i++) if (!(servicePorts[i - 1]!.key < servicePorts[i]!.key)) return false;
  return true;
}

/** Both lists sorted by key (strictly): one pass over both. */
function mergeJoin(a: readonly ServicePortPlan[], b: readonly ServicePortPlan[]): ServicePortChanges {
  const out = newChanges();
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x !== undefined && y !== undefined && x.key === y.key) {
      recordPair(out, x, y);
      i++;
      j++;
    } else if (y === undefined || (x !== undefined && x.key < y.key)) {
      out.removed.push(x!.key);
      out.before.push(x!);
      i++;
    } else {
      out.added.push(y.key);
      out.after.push(y);
      j++;
    }
  }
  return out;
}

/** Any order (plans not made by compile()): join through a map of the old service ports. */
function mapJoin(a: readonly ServicePortPlan[], b: readonly ServicePortPlan[]): ServicePortChanges {
  const out = newChanges();
  const before = new Map(a.map((sp) => [sp.key, sp]));
  const afterKeys = new Set<string>();
  for (const sp of b) {
    afterKeys.add(sp.key);
    const old = before.get(sp.key);
    if (old) recordPair(out, old, sp);
    else {
      out.added.push(sp.key);
      out.after.push(sp);
    }
  }
  for (const [key, sp] of before) {
    if (afterKeys.has(key)) continue;
    out.removed.push(key);
    out.before.push(sp);
  }
  return out;
}

const NO_CHANGES: PlanDiff = { added: [], removed: [], changed: [], settingsChanged: false, before: [], after: [] };
const diffs = new WeakMap<Plan, WeakMap<Plan, PlanDiff>>();

/** Which service ports differ between `from` and `to`, with their old and new plans. */
export function diffPlans(from: Plan, to: Plan): PlanDiff {
  if (from === to) return NO_CHANGES;
  let byTo = diffs.get(from);
  let d = byTo?.get(to);
  if (d) return d;
  const a = from.servicePorts;
  const b = to.servicePorts;
  const found = sortedByKey(a) && sortedByKey(b) ? mergeJoin(a, b) : mapJoin(a, b);
  d = { ...found, settingsChanged: settingsChanged(from, to) };
  if (!byTo) diffs.set(from, (byTo = new WeakMap()));
  byTo.set(to, d);
  return d;
}

/** Which service ports changed between two models, for the same node. */
export function diffClusters(from: Cluster, to: Cluster, settings: NodeSettings, family: IPFamily = 'IPv4'): PlanDiff {
  return diffPlans(compile(from, settings, family), compile(to, settings, family));
}

export function hasChanges(changes: PlanChanges): boolean {
  return changes.settingsChanged || changes.added.length + changes.removed.length + changes.changed.length > 0;
}
