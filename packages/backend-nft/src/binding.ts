/**
 * Generation trust for backends that commit through a tool (`nft -f`, iptables-nft-restore):
 * unlike a netlink batch, a tool's transaction cannot be made to fail when the ruleset
 * generation moved, so each commit is bound to the generation afterwards instead. kpb reads the
 * generation before its commit (at the drift check in a sync) and right after; when it moved by
 * exactly the steps kpb's own commit makes, kpb records the commit (@kpb/backend's commit
 * records); otherwise another writer slipped in, nothing is recorded, and the next sync of that
 * family in this instance applies in full, with a reason naming the generation (another process
 * finds no record and reads the kernel back). Shared by @kpb/backend-nft and
 * @kpb/backend-iptables (variant nft).
 */
import { distrust, targetId } from '@kpb/backend';
import type { CommitRecords, PlanDigest, RecordFamily, Target } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
import { getGeneration } from '@kpb/native';

/** The ruleset generation of a target. */
export type ReadGeneration = (target: Target) => Promise<number>;

/** The native addon's NFT_MSG_GETGEN. */
export const nativeGeneration: ReadGeneration = (target) => getGeneration(target.kind === 'netns' ? target.name : null);

const familyOf = (plan: Plan): RecordFamily => (plan.family === 'IPv6' ? 'ip6' : 'ip');

/** What a sync's drift check knows from the generation alone. */
export interface GenerationCheck {
  /** The generation now (undefined: it cannot be read); the update's commit is bound to it. */
  readonly at: number | undefined;
  /** The records vouch for `from` at `at`: no read-back needed. */
  readonly trusted: boolean;
  /** Why not, when the generation could be read (without the addon the kernel is always read back). */
  readonly why?: string;
}

/** A plan one commit loaded, and the digest to record for it. */
export interface CommittedPlan {
  readonly plan: Plan;
  readonly digest: PlanDigest;
}

export interface CommitBinding {
  /** The generation now; undefined when it cannot be read (no addon): then nothing is trusted or recorded. */
  generation(target: Target): Promise<number | undefined>;
  /** Why a sync from `from` must apply in full before reading anything: kpb's last commit there was not kpb's alone. */
  fullReason(target: Target, from: Plan): string | undefined;
  /** Read the generation and whether the records vouch for the kernel holding `from` there. */
  check(target: Target, from: Plan): Promise<GenerationCheck>;
  /**
   * After kpb's commit of `plans` (one per family it held, each with its digest), which started
   * at generation `before` and moves the generation by `steps` itself: record each, or forget
   * the target when the generation moved by anything else.
   */
  committed(target: Target, plans: readonly CommittedPlan[], before: number | undefined, steps: number): Promise<void>;
  /** Forget every family of the target (after a flush). */
  forget(target: Target): void;
}

export function commitBinding(records: CommitRecords, variant: string, readGeneration: ReadGeneration): CommitBinding {
  /** Target and family whose last commit was not kpb's alone → why the next sync applies in full. */
  const notOurs = new Map<string, string>();
  const key = (target: Target, plan: Plan) => `${targetId(target)}/${familyOf(plan)}`;
  const generation = async (target: Target): Promise<number | undefined> => {
    try {
      return await readGeneration(target);
    } catch {
      return undefined; // no addon (it throws on load), or no such namespace
    }
  };
  return {
    generation,
    fullReason: (target, from) => notOurs.get(key(target, from)),
    async check(target, from) {
      const at = await generation(target);
      if (at === undefined) return { at, trusted: false };
      const why = distrust(records.recall(target, familyOf(from)), variant, at, from);
      return why === undefined ? { at, trusted: true } : { at, trusted: false, why };
    },
    async committed(target, plans, before, steps) {
      const after = await generation(target);
      if (before === undefined || after === undefined) return;
      if (after - before === steps) {
        for (const { plan, digest } of plans) {
          notOurs.delete(key(target, plan));
          records.record(target, { variant, family: familyOf(plan), generation: after, digest, plan }, before);
        }
        return;
      }
      records.forget(target);
      const made = `${steps} step${steps === 1 ? '' : 's'}`;
      for (const { plan } of plans) notOurs.set(key(target, plan), `ruleset generation moved by ${after - before} during kpb's commit, which makes ${made} (another writer)`);
    },
    forget(target) {
      records.forget(target);
    },
  };
}
