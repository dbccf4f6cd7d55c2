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

export interface CommitBinding {
  /** The generation now; undefined when it cannot be read (no addon): then nothing is trusted or recorded. */
  generation(target: Target): Promise<number | undefined>;
  /** Why a sync from `from` must apply in full before reading anything: kpb's last commit there was not kpb's alone. */
  fullReason(target: Target, from: Plan): string | undefined;
  /** Why the kernel at `generation` is not known to hold `from` (undefined: the records vouch for it). */
  distrust(target: Target, from: Plan, generation: number): string | undefined;
  /**
   * After kpb's commit of `plan` (digest `digest`), which started at generation `before` and
   * moves the generation by `steps` itself: record it, or forget the target when the
   * generation moved by anything else.
   */
  committed(target: Target, plan: Plan, digest: PlanDigest, before: number | undefined, steps: number): Promise<void>;
  /** Forget every family of the target (after a flush). */
  forget(target: Target): void;
}

export function commitBinding(records: CommitRecords, variant: string, readGeneration: ReadGeneration): CommitBinding {
  /** Target and family whose last commit was not kpb's alone → why the next sync applies in full. */
  const notOurs = new Map<string, string>();
  const key = (target: Target, plan: Plan) => `${targetId(target)}/${familyOf(plan)}`;
  const generation = (target: Target) => readGeneration(target).catch(() => undefined);
  return {
    generation,
    fullReason: (target, from) => notOurs.get(key(target, from)),
    distrust: (target, from, at) => distrust(records.recall(target, familyOf(from)), variant, at, from),
    async committed(target, plan, digest, before, steps) {
      const after = await generation(target);
      if (before === undefined || after === undefined) return;
      if (after - before === steps) {
        notOurs.delete(key(target, plan));
        records.record(target, { variant, family: familyOf(plan), generation: after, digest, plan }, before);
        return;
      }
      records.forget(target);
      const made = `${steps} step${steps === 1 ? '' : 's'}`;
      notOurs.set(key(target, plan), `ruleset generation moved by ${after - before} during kpb's commit, which makes ${made} (another writer)`);
    },
    forget(target) {
      records.forget(target);
    },
  };
}
