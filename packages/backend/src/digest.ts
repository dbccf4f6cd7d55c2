/**
 * A digest of the applied plan, recorded with the ruleset generation after each commit (the
 * nftnl state). It can be updated from the changed service ports alone, so a small sync does
 * not hash the whole plan again.
 */
import { hash } from 'node:crypto';
import type { Plan, PlanDiff, ServicePortPlan } from '@kpb/compiler';

const MOD = 1n << 128n;
const servicePortHashes = new WeakMap<ServicePortPlan, bigint>();
const planDigests = new WeakMap<Plan, PlanDigest>();

/** A plan digest: hash of the node part + sum (mod 2^128) of per-service-port hashes. */
export interface PlanDigest {
  readonly head: string;
  readonly sum: bigint;
}

function hashServicePort(sp: ServicePortPlan): bigint {
  let h = servicePortHashes.get(sp);
  if (h === undefined) {
    h = BigInt(`0x${hash('sha256', JSON.stringify(sp), 'hex').slice(0, 32)}`);
    servicePortHashes.set(sp, h);
  }
  return h;
}

function headOf(plan: Plan): string {
  return hash('sha256', JSON.stringify([plan.family, plan.settings, plan.nodeIPs, plan.nodePortIPs]), 'hex').slice(0, 32);
}

export function planDigest(plan: Plan): PlanDigest {
  let d = planDigests.get(plan);
  if (!d) {
    let sum = 0n;
    for (const sp of plan.servicePorts) sum += hashServicePort(sp);
    d = { head: headOf(plan), sum: sum % MOD };
    planDigests.set(plan, d);
  }
  return d;
}

/** The digest of `to`, from the digest of `from` and the changed service ports only. */
export function updateDigest(fromDigest: PlanDigest, to: Plan, changes: PlanDiff): PlanDigest {
  let d = planDigests.get(to);
  if (d) return d;
  let sum = fromDigest.sum;
  for (const sp of changes.before) sum -= hashServicePort(sp);
  for (const sp of changes.after) sum += hashServicePort(sp);
  d = { head: fromDigest.head, sum: ((sum % MOD) + MOD) % MOD };
  planDigests.set(to, d);
  return d;
}

export function digestText(d: PlanDigest): string {
  return `${d.head}:${d.sum.toString(16).padStart(32, '0')}`;
}

/** The inverse of digestText. */
export function parseDigest(text: string): PlanDigest {
  const [head, sum] = text.split(':') as [string, string];
  return { head, sum: BigInt(`0x${sum}`) };
}
