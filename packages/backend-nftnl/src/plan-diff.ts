/**
 * Cheap change tracking between two plans, with `diffPlans`' semantics (tested against it):
 * a merge-join over the service ports (plans keep them sorted by key) with an allocation-free
 * structural comparison, identical objects short-circuiting. And a plan digest that can be
 * updated from the changed service ports alone.
 */
import { createHash } from 'node:crypto';
import { diffPlans } from '@kpb/compiler';
import type { Plan, PlanChanges, ServicePortPlan } from '@kpb/compiler';

/** Structural equality of plain plan data (same semantics as `samePlanValue`). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const aa = Array.isArray(a);
  if (aa !== Array.isArray(b)) return false;
  if (aa) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameValue(x[i], y[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (!Object.prototype.hasOwnProperty.call(y, k) || !sameValue(x[k], y[k])) return false;
    n++;
  }
  let m = 0;
  for (const k in y) if (Object.prototype.hasOwnProperty.call(y, k)) m++;
  return n === m;
}

export interface FastChanges extends PlanChanges {
  /** Old and new plans of the changed service ports. */
  readonly before: readonly ServicePortPlan[];
  readonly after: readonly ServicePortPlan[];
}

const EMPTY: FastChanges = { added: [], removed: [], changed: [], settingsChanged: false, before: [], after: [] };

export function settingsChanged(from: Plan, to: Plan): boolean {
  return from.family !== to.family || !sameValue(from.settings, to.settings) || !sameValue(from.nodeIPs, to.nodeIPs);
}

const pairs = new WeakMap<Plan, WeakMap<Plan, FastChanges>>();

/** Which service ports differ between `from` and `to` (remembered per pair of plan objects: plans are immutable). */
export function fastDiffPlans(from: Plan, to: Plan): FastChanges {
  if (from === to) return EMPTY;
  let byTo = pairs.get(from);
  let d = byTo?.get(to);
  if (d) return d;
  d = diffOnce(from, to);
  if (!byTo) pairs.set(from, (byTo = new WeakMap()));
  byTo.set(to, d);
  return d;
}

function diffOnce(from: Plan, to: Plan): FastChanges {
  const a = from.servicePorts;
  const b = to.servicePorts;
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  const before: ServicePortPlan[] = [];
  const after: ServicePortPlan[] = [];
  let i = 0;
  let j = 0;
  let sorted = true;
  for (let guard = 0; (i < a.length || j < b.length) && guard <= a.length + b.length; guard++) {
    const x = a[i];
    const y = b[j];
    if (x && y && x.key === y.key) {
      if (x !== y && !sameValue(x, y)) {
        changed.push(y.key);
        before.push(x);
        after.push(y);
      }
      i++;
      j++;
    } else if (y === undefined || (x !== undefined && x.key < y.key)) {
      removed.push(x!.key);
      before.push(x!);
      i++;
    } else {
      added.push(y.key);
      after.push(y);
      j++;
    }
    if ((i > 0 && i < a.length && !(a[i - 1]!.key < a[i]!.key)) || (j > 0 && j < b.length && !(b[j - 1]!.key < b[j]!.key))) {
      sorted = false;
      break;
    }
  }
  if (!sorted) {
    // Not sorted by key as compile() leaves them: the general (slower) path.
    const d = diffPlans(from, to);
    const byA = new Map(a.map((sp) => [sp.key, sp]));
    const byB = new Map(b.map((sp) => [sp.key, sp]));
    return {
      ...d,
      before: [...d.changed, ...d.removed].map((k) => byA.get(k)!),
      after: [...d.added, ...d.changed].map((k) => byB.get(k)!),
    };
  }
  return { added, removed, changed, settingsChanged: settingsChanged(from, to), before, after };
}

// ---- digest ------------------------------------------------------------------------------------

const MOD = 1n << 128n;
const spHash = new WeakMap<ServicePortPlan, bigint>();
const planDigests = new WeakMap<Plan, PlanDigest>();

/** A plan digest: hash of the node part + sum (mod 2^128) of per-service-port hashes. */
export interface PlanDigest {
  readonly head: string;
  readonly sum: bigint;
}

function hashSp(sp: ServicePortPlan): bigint {
  let h = spHash.get(sp);
  if (h === undefined) {
    h = BigInt(`0x${createHash('sha256').update(JSON.stringify(sp)).digest('hex').slice(0, 32)}`);
    spHash.set(sp, h);
  }
  return h;
}

function headOf(plan: Plan): string {
  return createHash('sha256').update(JSON.stringify([plan.family, plan.settings, plan.nodeIPs])).digest('hex').slice(0, 32);
}

export function planDigest(plan: Plan): PlanDigest {
  let d = planDigests.get(plan);
  if (!d) {
    let sum = 0n;
    for (const sp of plan.servicePorts) sum += hashSp(sp);
    d = { head: headOf(plan), sum: sum % MOD };
    planDigests.set(plan, d);
  }
  return d;
}

/** The digest of `to`, from the digest of `from` and the changed service ports only. */
export function updateDigest(fromDigest: PlanDigest, to: Plan, changes: FastChanges): PlanDigest {
  let d = planDigests.get(to);
  if (d) return d;
  let sum = fromDigest.sum;
  for (const sp of changes.before) sum -= hashSp(sp);
  for (const sp of changes.after) sum += hashSp(sp);
  d = { head: fromDigest.head, sum: ((sum % MOD) + MOD) % MOD };
  planDigests.set(to, d);
  return d;
}

export function digestText(d: PlanDigest): string {
  return `${d.head}:${d.sum.toString(16).padStart(32, '0')}`;
}
