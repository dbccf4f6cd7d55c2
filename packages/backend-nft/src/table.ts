/**
 * kpb's nft table as both nft backends see it: the ruleset built (and checked) once per plan,
 * the table listed with `nft list table`, and a listing compared with a ruleset (drift check).
 * Shared by @kpb/backend-nft and @kpb/backend-nftnl.
 */
import type { DriftCheck, RunTool, Target } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
import { buildRuleset } from './build.ts';
import type { BuildOptions } from './build.ts';
import { canonicalizeListing, compareCanon, parseCanon } from './canonical.ts';
import { canonicalObjects, renderCanonical } from './render.ts';
import { checkReferences } from './ruleset.ts';
import type { NftFamily, NftRuleset } from './ruleset.ts';

export const TABLE = 'kube-proxy';

/** `buildRuleset` remembered per plan object (plans are immutable), refusing dangling references. */
export function rulesetBuilder(options: BuildOptions): (plan: Plan) => NftRuleset {
  const cache = new WeakMap<Plan, NftRuleset>();
  return (plan) => {
    let rs = cache.get(plan);
    if (!rs) {
      rs = buildRuleset(plan, options);
      const problems = checkReferences(rs);
      if (problems.length) throw new Error(`nft ruleset refers to missing objects: ${problems.slice(0, 5).join('; ')}`);
      cache.set(plan, rs);
    }
    return rs;
  };
}

/** `nft list table FAMILY kube-proxy` in the target; '' when the table does not exist. */
export async function listTable(runTool: RunTool, target: Target, family: NftFamily, timeoutMs: number): Promise<string> {
  const r = await runTool(target, 'nft', ['list', 'table', family, TABLE], { timeoutMs, allowFailure: true });
  if (r.code === 0) return r.stdout;
  if (/No such file or directory/.test(r.stderr)) return '';
  throw new Error(`nft list table ${family} ${TABLE} failed: ${r.stderr.trim()}`);
}

/** Does this `nft list table` output hold exactly `rs`? */
export function listingHolds(listing: string, rs: NftRuleset, readBackBecause?: string): DriftCheck {
  const because = readBackBecause ? { readBackBecause } : {};
  const kernel = canonicalizeListing(listing);
  if (kernel === renderCanonical(rs)) return { holdsFrom: true, ...because };
  return { holdsFrom: false, differences: compareCanon(canonicalObjects(rs), parseCanon(kernel)), ...because };
}
