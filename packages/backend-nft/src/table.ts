/**
 * kpb's nft table as both nft backends see it: the ruleset built (and checked) once per plan,
 * the table listed with `nft list table`, a listing compared with a ruleset (drift check), and
 * the backend methods that only need the ruleset. Shared by @kpb/backend-nft and @kpb/backend-nftnl.
 */
import type { Backend, Difference, DriftCheck, RunTool, Target } from '@kpb/backend';
import { familyPlans, traceFamilies, verifyFamilies } from '@kpb/backend';
import type { Plan, PlanDiff } from '@kpb/compiler';
import { buildRuleset, nftFamily, streamRuleset } from './build.ts';
import type { BuildOptions } from './build.ts';
import { compareCanon, listedObjects } from './canonical.ts';
import { renderStreamScript, rulesetObjects } from './render.ts';
import type { ElementKey, NftFamily, NftRuleset } from './ruleset.ts';
import { commonCounts, hairpinAddresses, PREBUILT_COUNTS } from './maps.ts';
import { traceRuleset } from './trace.ts';
import { diffRulesets } from './diff.ts';
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
 * sides, so building it twice (~0.5 s each at 10k services) would only show that. Layout `maps`
 * with an endpoint count above the prebuilt ones: the count rules depend on every service
 * port, so both whole rulesets are built, and when the counts with rules change, the table is
 * replaced (`countRulesChange`).
 */
export function diffChangedServicePorts(build: (plan: Plan) => NftRuleset, from: Plan, to: Plan, changes: PlanDiff): RulesetDiff {
  const partialFrom = build({ ...from, servicePorts: changes.before });
  if (partialFrom.dataMaps !== undefined) {
    const counts = [commonCounts(from), commonCounts(to)] as const;
    if (counts[0] !== counts[1]) return { ops: [], fullReason: countRulesChange(counts), chains: { added: [], changed: [], removed: [] } };
    if (counts[0] > PREBUILT_COUNTS) return diffRulesets(build(from), build(to));
  }
  const diff = diffRulesets(partialFrom, build({ ...to, servicePorts: changes.after }));
  return diff.fullReason ? diff : { ...diff, ops: sharedElementsKept(diff.ops, from, to) };
}

/**
 * Why layout maps replaces the table when its endpoint counts change: nft 1.0.6 cannot add a
 * rule that uses a data map it reads back from the kernel (the map's `typeof … : ip daddr .
 * th dport` reads as "conflicting protocols specified: ip vs. th"; declared `tcp dport`
 * instead, rules added later list back differently from the same rules in a full script).
 */
function countRulesChange(counts: readonly [number, number]): string {
  return `layout maps: rules for endpoint counts up to ${counts[0]} become up to ${counts[1]} (nft cannot add a rule that uses a data map it read back)`;
}

/**
 * Sets whose elements several service ports share: `cluster-ips` (the ClusterIP of every port
 * of a service) and layout maps' `hairpin-endpoints` (an endpoint of several services), each
 * with the element's value and which of some values a plan holds.
 */
const SHARED_SETS: ReadonlyMap<string, { value: (key: ElementKey) => string; held: (plan: Plan, values: ReadonlySet<string>) => Set<string> }> = new Map([
  ['cluster-ips', { value: (k) => String(k[0]), held: heldClusterIPs }],
  ['hairpin-endpoints', { value: (k) => String(k[0]), held: hairpinAddresses }],
]);

/** Which of `values` are the ClusterIP of some service port of `plan`. */
function heldClusterIPs(plan: Plan, values: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const sp of plan.servicePorts) if (values.has(sp.clusterIP)) out.add(sp.clusterIP);
  return out;
}

/**
 * The shared sets' element ops of a diff of changed service ports, corrected for the service
 * ports left out: an element stays while any service port of `to` has it, and is not added
 * again when `from` had it already. Only the ops' own values are looked for in the plans (one
 * pass over each, no set of every value: that was most of a one-service sync at 10k).
 */
function sharedElementsKept(ops: readonly NftOp[], from: Plan, to: Plan): NftOp[] {
  const shared = (op: NftOp) => ((op.op === 'delete-elements' || op.op === 'add-elements') && op.target === 'set' ? SHARED_SETS.get(op.name) : undefined);
  if (!ops.some((op) => shared(op) !== undefined)) return [...ops];
  const out: NftOp[] = [];
  for (const op of ops) {
    const set = shared(op);
    if (set && op.op === 'delete-elements') {
      const after = set.held(to, new Set(op.keys.map(set.value)));
      const keys = op.keys.filter((k) => !after.has(set.value(k)));
      if (keys.length) out.push({ ...op, keys });
    } else if (set && op.op === 'add-elements' && op.target === 'set') {
      const before = set.held(from, new Set(op.keys.map(set.value)));
      const keys = op.keys.filter((k) => !before.has(set.value(k)));
      if (keys.length) out.push({ ...op, keys });
    } else out.push(op);
  }
  return out;
}

/** `nft list table FAMILY kube-proxy` in the target; '' when the table does not exist. Printed into a file: kpb builds what it compares with meanwhile. */
export async function listTable(runTool: RunTool, target: Target, family: NftFamily, timeoutMs: number): Promise<string> {
  const r = await runTool(target, 'nft', ['list', 'table', family, TABLE], { timeoutMs, allowFailure: true, stdoutToFile: true });
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

/** How a backend reads kpb's table of one family in a target, and what differs between what it read and a ruleset (none: it holds it). */
export interface TableReader<T> {
  read(target: Target, family: NftFamily): Promise<T>;
  differences(found: T, rs: NftRuleset): readonly Difference[];
}

/**
 * The backend methods both nft backends share: the `nft -f` script of a plan, verify (the
 * backends differ only in how they read and compare the table: `reader`) and the in-memory tracer.
 */
export function rulesetMethods<T>(build: (plan: Plan) => NftRuleset, reader: TableReader<T>, options: BuildOptions): Pick<Backend, 'renderText' | 'verify' | 'trace'> {
  return {
    // Written one service port at a time: a script needs no whole NftRuleset.
    renderText: (plans) => familyPlans(plans).map((plan) => renderStreamScript(streamRuleset(plan, options))).join(''),
    verify: (target, plans) =>
      verifyFamilies(plans, async (plan) => {
        // The table is read (by `nft`, or on the addon's threads) while the ruleset to compare with is built.
        const found = reader.read(target, nftFamily(plan));
        found.catch(() => undefined); // awaited below; build's error, if any, is the one thrown
        const rs = build(plan);
        const differences = reader.differences(await found, rs);
        return { ok: differences.length === 0, differences: [...differences] };
      }),
    trace: (plans, packet) => traceFamilies(plans, packet, (plan) => traceRuleset(build(plan), { nodeIPs: plan.nodeIPs }, packet)),
  };
}
