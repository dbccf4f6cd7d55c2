/**
 * Dual-stack: what every backend does the same way for several IP families. kube-proxy runs one
 * proxier per family; a kpb command gets one plan per family and hands all of them to the
 * backend. How they reach the kernel is the backend's (nft and nftnl: one transaction for both
 * tables; iptables: one restore per family); how results of the families are put together is
 * here, once.
 */
import type { Plan } from '@kpb/compiler';
import type { IPFamily } from '@kpb/model';
import { ipFamily } from '@kpb/model';
import type { ApplyResult, Difference, StageTimings, SyncResult, TracePacket, TraceResult, VerifyResult } from './types.ts';

/** One plan, or one plan per IP family (each family at most once): what a backend loads into one target. */
export type Plans = Plan | readonly Plan[];

/** Every family kpb knows, in the order backends handle them (IPv4 first). */
export const ALL_FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];

/** The plans, IPv4 first; throws on an empty list or a family given twice (a caller's bug). */
export function familyPlans(plans: Plans): readonly Plan[] {
  if (!Array.isArray(plans)) return [plans as Plan];
  const list = plans as readonly Plan[];
  if (list.length === 0) throw new RangeError('no plan given: at least one IP family is needed');
  const seen = new Set<IPFamily>();
  for (const p of list) {
    if (seen.has(p.family)) throw new RangeError(`two plans for ${p.family}: give each IP family at most once`);
    seen.add(p.family);
  }
  return ALL_FAMILIES.flatMap((f) => list.filter((p) => p.family === f));
}

/** The plan of `family` among `plans`, if there is one. */
export function planOf(plans: Plans, family: IPFamily): Plan | undefined {
  return familyPlans(plans).find((p) => p.family === family);
}

const addStages = (a: StageTimings, b: StageTimings): StageTimings => ({ render: a.render + b.render, kernel: a.kernel + b.kernel, other: (a.other ?? 0) + (b.other ?? 0) });

/** The results of applying families one after another (iptables: one restore per family), as one. */
export function joinApplied(parts: readonly { readonly family: IPFamily; readonly result: ApplyResult }[]): ApplyResult {
  if (parts.length === 1) return parts[0]!.result;
  const timings = parts.map((p) => p.result.timings).reduce(addStages);
  const count = parts.reduce((n, p) => n + p.result.size.count, 0);
  const bytes = parts.every((p) => p.result.size.bytes !== undefined) ? parts.reduce((n, p) => n + p.result.size.bytes!, 0) : undefined;
  return {
    timings,
    size: { unit: parts[0]!.result.size.unit, count, ...(bytes !== undefined ? { bytes } : {}) },
    families: parts.map((p) => ({ family: p.family, render: p.result.timings.render, count: p.result.size.count })),
  };
}

/**
 * Sync every family of `to`, one after another, and remove the families only `from` had. Each
 * family's sync is the backend's own (one transaction each); the result is incremental only
 * when every family's was.
 */
export async function syncFamilies(
  from: Plans | undefined,
  to: Plans,
  syncOne: (from: Plan | undefined, to: Plan) => Promise<SyncResult>,
  flushFamilies: (families: readonly IPFamily[]) => Promise<void>,
): Promise<SyncResult> {
  const toPlans = familyPlans(to);
  const dropped = from === undefined ? [] : familyPlans(from).filter((p) => !toPlans.some((t) => t.family === p.family)).map((p) => p.family);
  const results: { family: IPFamily; result: SyncResult }[] = [];
  for (const plan of toPlans) results.push({ family: plan.family, result: await syncOne(from === undefined ? undefined : planOf(from, plan.family), plan) });
  if (dropped.length > 0) await flushFamilies(dropped);
  if (results.length === 1 && dropped.length === 0) return results[0]!.result;
  const full = results.filter((r) => r.result.mode === 'full');
  const reasons = [...full.map((r) => `${r.family}: ${r.result.reason ?? 'full apply'}`), ...dropped.map((f) => `${f}: removed (not in --to)`)];
  const joined = joinApplied(results);
  return {
    ...joined,
    mode: full.length === 0 && dropped.length === 0 ? 'incremental' : 'full',
    ...(reasons.length > 0 ? { reason: reasons.join('; ') } : {}),
    changedServicePorts: results.flatMap((r) => r.result.changedServicePorts.map((key) => (results.length > 1 ? `${r.family} ${key}` : key))),
    families: results.map((r) => ({
      family: r.family,
      render: r.result.timings.render,
      count: r.result.size.count,
      mode: r.result.mode,
      ...(r.result.reason !== undefined ? { reason: r.result.reason } : {}),
    })),
  };
}

/** Verify each family with `verifyOne`; every difference names its family when there are several. */
export async function verifyFamilies(plans: Plans, verifyOne: (plan: Plan) => Promise<VerifyResult>): Promise<VerifyResult> {
  const list = familyPlans(plans);
  const results = await Promise.all(list.map(async (plan) => ({ family: plan.family, result: await verifyOne(plan) })));
  if (results.length === 1) return results[0]!.result;
  const differences: Difference[] = results.flatMap((r) => r.result.differences.map((d) => ({ ...d, family: r.family })));
  return { ok: differences.length === 0, differences };
}

/** Trace `packet` through the plan of its family; a family with no plan leaves it untouched. */
export function traceFamilies(plans: Plans, packet: TracePacket, traceOne: (plan: Plan) => TraceResult): TraceResult {
  const family = ipFamily(packet.dst) ?? 'IPv4';
  const plan = planOf(plans, family);
  if (plan === undefined) return { verdict: { kind: 'untouched' }, path: [`no ${family} plan: no rules for ${family} packets`] };
  return traceOne(plan);
}
