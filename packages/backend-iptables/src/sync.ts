/**
 * kube-proxy's partial sync (KEP-3453) as iptables-restore --noflush input: the filter table's
 * top-level chains in full, the chains of added and changed service ports in full, stale chains
 * declared (which flushes them) and then deleted, and the nat top-level chains whose rules
 * change. Only the changed service ports are rendered in full (in both plans); of the others,
 * only what they write into the top-level chains.
 *
 * Unlike kube-proxy, which rewrites every top-level chain at each partial sync, a nat top-level
 * chain whose rules stay the same is not sent: at 10k services nat KUBE-SERVICES holds ~12k
 * rules, and iptables-nft-restore takes seconds to replace it where the update of one service's
 * own chains takes a few hundred milliseconds. (filter's top-level chains are small, and always
 * sent, as kube-proxy does.) Both tables are always sent, so that a partial sync steps the
 * ruleset generation by 2 (restoreSteps): when nothing else changes in nat, its two small
 * chains that depend on the node settings alone are rewritten (with the same rules).
 */
import type { Plan, PlanDiff, ServicePortPlan } from '@kpb/compiler';
import { KUBE_MARK_MASQ, KUBE_POSTROUTING, TOP_LEVEL_CHAINS } from './names.ts';
import { SHARED_NAT_CHAINS, renderServicePorts, renderTopLevel, type ServicePortsRules } from './render.ts';

export interface PartialInput {
  readonly text: string;
  readonly lines: number;
  /** nat chains deleted. */
  readonly stale: readonly string[];
  /** Service port keys whose chains were written. */
  readonly written: readonly string[];
}

const none: readonly string[] = [];

const sameLines = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Each service port's rules alone (by key). */
function rulesByServicePort(plan: Plan, servicePorts: readonly ServicePortPlan[]): Map<string, ServicePortsRules> {
  return new Map(servicePorts.map((sp) => [sp.key, renderServicePorts(plan, [sp])]));
}

/** The service ports both plans hold unchanged come in the same order (compile() sorts them by key). */
function sameOrderOfTheRest(from: Plan, to: Plan, changes: PlanDiff): boolean {
  const added = new Set(changes.added);
  const removed = new Set(changes.removed);
  let j = 0;
  for (const sp of from.servicePorts) {
    if (removed.has(sp.key)) continue;
    while (j < to.servicePorts.length && added.has(to.servicePorts[j]!.key)) j++;
    if (to.servicePorts[j++]?.key !== sp.key) return false;
  }
  return true;
}

/**
 * The nat top-level chains whose rules differ between the plans: a top-level chain is the
 * service ports' lines in plan order (plus lines that depend only on the node settings, which a
 * partial sync never sees change), so it is unchanged when every changed service port writes
 * the same lines into it and the others keep their order.
 */
function changedNatTopLevel(from: Plan, to: Plan, changes: PlanDiff, before: Map<string, ServicePortsRules>, after: Map<string, ServicePortsRules>): string[] {
  if (!sameOrderOfTheRest(from, to, changes)) return [...TOP_LEVEL_CHAINS.nat];
  const keys = [...changes.added, ...changes.changed, ...changes.removed];
  return TOP_LEVEL_CHAINS.nat.filter((chain) =>
    keys.some((key) => !sameLines(before.get(key)?.nat.get(chain) ?? none, after.get(key)?.nat.get(chain) ?? none)),
  );
}

/** filter's part of the --noflush input: only top-level chains exist there; all of them. */
function filterLines(rules: ReadonlyMap<string, readonly string[]>): string[] {
  const out = ['*filter'];
  for (const chain of TOP_LEVEL_CHAINS.filter) out.push(':' + chain + ' - [0:0]');
  for (const chain of TOP_LEVEL_CHAINS.filter) for (const r of rules.get(chain) ?? none) out.push(r);
  out.push('COMMIT');
  return out;
}

/** --noflush input that sets kpb's filter chains to `plan`'s rules (and touches nothing else). */
export function filterRestoreInput(plan: Plan): string {
  return filterLines(renderTopLevel(plan, false).filter).join('\n') + '\n';
}

export function partialRestoreInput(from: Plan, to: Plan, changes: PlanDiff): PartialInput {
  const before = rulesByServicePort(from, changes.before);
  const after = rulesByServicePort(to, changes.after);
  const written: string[] = [];
  const ownRules = new Map<string, readonly string[]>();
  for (const key of [...changes.added, ...changes.changed]) {
    const rules = after.get(key);
    if (!rules) continue;
    written.push(key);
    for (const c of rules.servicePortChains.get(key) ?? none) ownRules.set(c, rules.own.get(c) ?? none);
  }
  // Stale: chains the old plan's changed/removed service ports had that the new plan has nowhere
  // (a chain's name hashes its service port's key, so only the same service port can have it).
  const stale: string[] = [];
  for (const key of [...changes.changed, ...changes.removed]) {
    for (const c of before.get(key)?.servicePortChains.get(key) ?? none) if (!ownRules.has(c)) stale.push(c);
  }
  let natTopLevel = changedNatTopLevel(from, to, changes, before, after);
  if (natTopLevel.length + ownRules.size + stale.length === 0) natTopLevel = [KUBE_POSTROUTING, KUBE_MARK_MASQ];
  const top = renderTopLevel(to, natTopLevel.some((c) => SHARED_NAT_CHAINS.includes(c)));

  const out = filterLines(top.filter);
  out.push('*nat');
  const write = [...natTopLevel, ...ownRules.keys()];
  for (const c of write) out.push(':' + c + ' - [0:0]');
  // Declaring a chain with --noflush flushes it, so every reference out of a stale chain is gone
  // before the -X lines below; references into it came only from chains rewritten here (a
  // top-level chain that jumped to it no longer holds the same lines, so it is rewritten).
  for (const c of stale) out.push(':' + c + ' - [0:0]');
  for (const c of write) for (const r of top.nat.get(c) ?? ownRules.get(c) ?? none) out.push(r);
  for (const c of stale) out.push('-X ' + c);
  out.push('COMMIT');
  return { text: out.join('\n') + '\n', lines: out.length, stale, written };
}
