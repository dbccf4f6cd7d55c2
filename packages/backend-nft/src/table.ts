/**
 * kpb's nft table as both nft backends see it: the ruleset built (and checked) once per plan,
 * the table listed with `nft list table`, a listing compared with a ruleset (drift check), and
 * the backend methods that only need the ruleset. Shared by @kpb/backend-nft and @kpb/backend-nftnl.
 */
import type { Backend, Difference, DriftCheck, RunTool, Target } from '@kpb/backend';
import { familyPlans, traceFamilies, verifyFamilies } from '@kpb/backend';
import type { Plan, PlanDiff } from '@kpb/compiler';
import { buildRuleset, streamRuleset } from './build.ts';
import type { BuildOptions } from './build.ts';
import { compareCanon, listedObjects } from './canonical.ts';
import { renderStreamScript, rulesetObjects } from './render.ts';
import type { NftFamily, NftRuleset } from './ruleset.ts';
import { traceRuleset } from './trace.ts';
import { diffRulesets } from './diff.ts';
import { commonCounts, HAIRPIN_SET, hairpinAddresses } from './maps.ts';
import type { RulesetDiff } from './diff.ts';
import type { NftOp } from './ops.ts';

export const TABLE = 'kube-proxy';

/** `buildRuleset` (which refuses dangling references) remembered per plan object (plans are immutable). */
export function rulesetBuilder(options: BuildOptions): (plan: Plan) => NftRuleset {
  const cache = new WeakMap<Plan, NftRuleset>();
  return (plan) => {
    let rs = cache.get(plan);
    if (!rs) {
      rs = buildRuleset(plan, options);
      cache.set(plan, rs);
    }
    return rs;
  };
}

/**
 * The ruleset diff of a sync from `from` to `to`, built from the changed service ports alone
 * (their chains, sets and map elements, old and new): the rest of the table is the same on both
 * sides, so building it twice (~0.5 s each at 10k services) would only show that.
 */
export function diffChangedServicePorts(build: (plan: Plan) => NftRuleset, from: Plan, to: Plan, changes: PlanDiff): RulesetDiff {
  const before = { ...from, servicePorts: changes.before };
  const after = { ...to, servicePorts: changes.after };
  const a = build(before);
  const diff = diffRulesets(a, build(after));
  if (diff.fullReason) return diff;
  if (a.dataMaps !== undefined) {
    const fullReason = countsChangeUnseen(commonCounts(before), commonCounts(after), commonCounts(from), commonCounts(to));
    if (fullReason) return { ops: [], fullReason, chains: { added: [], changed: [], removed: [] } };
  }
  return { ...diff, ops: sharedElementsKept(diff.ops, from, to) };
}

/**
 * Layout maps: the fixed rules and sets of endpoint counts above PREBUILT_COUNTS depend on every
 * service port. The changed ports' diff (largest counts `before` → `after`) changes them right
 * only when it changes nothing there and the whole plans do not either, or when the changed
 * ports decide the largest count on both sides (`from` → `to`). Else: why a full apply is needed.
 */
function countsChangeUnseen(before: number, after: number, from: number, to: number): string | undefined {
  if ((before === after && from === to) || (before === from && after === to)) return undefined;
  return `layout maps: the largest endpoint count goes from ${from} to ${to}, which the changed service ports alone (${before} → ${after}) do not show`;
}

/**
 * Sets whose elements several service ports share, and the first key field of each element a
 * plan holds: `cluster-ips` (a ClusterIP, per service, however many ports it has) and layout
 * maps' `hairpin-endpoints` (an endpoint address, however many service ports have it).
 */
const SHARED_SETS: Readonly<Record<string, (plan: Plan) => ReadonlySet<string>>> = {
  'cluster-ips': (plan) => new Set(plan.servicePorts.map((sp) => sp.clusterIP)),
  [HAIRPIN_SET]: hairpinAddresses,
};

/**
 * The element ops of shared sets in a diff of changed service ports, corrected for the service
 * ports left out: an element stays while any service port of `to` holds it, and is not added
 * again when `from` held it already.
 */
function sharedElementsKept(ops: readonly NftOp[], from: Plan, to: Plan): NftOp[] {
  const sharedOf = (op: NftOp) => ((op.op === 'delete-elements' || op.op === 'add-elements') && op.target === 'set' ? SHARED_SETS[op.name] : undefined);
  if (!ops.some(sharedOf)) return [...ops];
  const held = new Map<string, { before: ReadonlySet<string>; after: ReadonlySet<string> }>();
  const heldBy = (name: string, of: (plan: Plan) => ReadonlySet<string>) => {
    let h = held.get(name);
    if (!h) held.set(name, (h = { before: of(from), after: of(to) }));
    return h;
  };
  const out: NftOp[] = [];
  for (const op of ops) {
    const of = sharedOf(op);
    if (of && op.op === 'delete-elements') {
      const { after } = heldBy(op.name, of);
      const keys = op.keys.filter((k) => !after.has(String(k[0])));
      if (keys.length) out.push({ ...op, keys });
    } else if (of && op.op === 'add-elements' && op.target === 'set') {
      const { before } = heldBy(op.name, of);
      const keys = op.keys.filter((k) => !before.has(String(k[0])));
      if (keys.length) out.push({ ...op, keys });
    } else out.push(op);
  }
  return out;
}

/** `nft list table FAMILY kube-proxy` in the target; '' when the table does not exist. */
export async function listTable(runTool: RunTool, target: Target, family: NftFamily, timeoutMs: number): Promise<string> {
  const r = await runTool(target, 'nft', ['list', 'table', family, TABLE], { timeoutMs, allowFailure: true });
  if (r.code === 0) return r.stdout;
  if (/No such file or directory/.test(r.stderr)) return '';
  throw new Error(`nft list table ${family} ${TABLE} failed: ${r.stderr.trim()}`);
}

/** What differs between an `nft list table` output and `rs`, object by object (none: it holds `rs`). */
export function listingDifferences(listing: string, rs: NftRuleset): Difference[] {
  return compareCanon(rulesetObjects(rs), listedObjects(listing));
}

/** Does this `nft list table` output hold exactly `rs`? */
export function listingHolds(listing: string, rs: NftRuleset, readBackBecause?: string): DriftCheck {
  const because = readBackBecause ? { readBackBecause } : {};
  const differences = listingDifferences(listing, rs);
  return differences.length === 0 ? { holdsFrom: true, ...because } : { holdsFrom: false, differences, ...because };
}

/** What differs between kpb's table of `rs`'s family in a target and `rs` (none: it holds `rs`). */
type TableDifferences = (target: Target, rs: NftRuleset) => Promise<readonly Difference[]>;

/**
 * The backend methods both nft backends share: the `nft -f` script of a plan, verify (the
 * backends differ only in how they read and compare the table: `differences`) and the in-memory tracer.
 */
export function rulesetMethods(build: (plan: Plan) => NftRuleset, differences: TableDifferences, options: BuildOptions): Pick<Backend, 'renderText' | 'verify' | 'trace'> {
  return {
    // Written one service port at a time: a script needs no whole NftRuleset.
    renderText: (plans) => familyPlans(plans).map((plan) => renderStreamScript(streamRuleset(plan, options))).join(''),
    verify: (target, plans) =>
      verifyFamilies(plans, async (plan) => {
        const found = await differences(target, build(plan));
        return { ok: found.length === 0, differences: found };
      }),
    trace: (plans, packet) => traceFamilies(plans, packet, (plan) => traceRuleset(build(plan), { nodeIPs: plan.nodeIPs }, packet)),
  };
}
