/**
 * Generation trust, kube-proxy style, for every backend whose rules are nf_tables objects (nft,
 * nftnl, iptables-nft): after each commit the backend records the ruleset generation (the
 * kernel's NFT_MSG_GETGEN counter, which every committed batch moves by one) and a digest of
 * the applied plan, per target and family. A later sync whose recorded generation still holds
 * trusts its last commit and sends only the change, without reading the kernel back.
 *
 * Records live in the instance (with the plan object) and in the state store, one key per
 * backend, target and family (`<backend>-<netns|host>-<family>.json`), for the next process.
 */
import { targetId } from './exec.ts';
import { digestText, planDigest } from './digest.ts';
import type { PlanDigest } from './digest.ts';
import type { StateStore } from './ports.ts';
import type { Target } from './types.ts';
import type { Plan } from '@kpb/compiler';

/** The families a record is kept for: nf_tables' names (`ip`, `ip6`). */
export type RecordFamily = 'ip' | 'ip6';

interface CommitRecord {
  /** The backend's variant (layout) that wrote the kernel: another variant's objects differ. */
  readonly variant: string;
  readonly family: RecordFamily;
  /** The ruleset generation right after the commit. */
  readonly generation: number;
  readonly digest: PlanDigest;
  /** The plan object applied last (in this process). */
  readonly plan?: Plan;
}

/** A record as recalled: from this instance (with the plan) or from the state store (without). */
export interface Recalled {
  readonly variant: string;
  readonly generation: number;
  readonly digest: string;
  readonly plan?: Plan;
}

interface StateFile {
  readonly version: 2;
  readonly variant: string;
  readonly family: RecordFamily;
  readonly generation: number;
  readonly digest: string;
}

export interface CommitRecords {
  /**
   * Remember a commit. This instance's records of the target's other families that held at the
   * generation the commit started from (`startedAt`) move with it: that one step was ours. The state store is best effort:
   * without it the next process reads the kernel back.
   */
  record(target: Target, r: CommitRecord, startedAt?: number): void;
  /** Forget every family of the target (after a flush, or when a commit cannot be vouched for). */
  forget(target: Target): void;
  /** This instance's record first, then the state store's. */
  recall(target: Target, family: RecordFamily): Recalled | undefined;
}

const FAMILIES: readonly RecordFamily[] = ['ip', 'ip6'];

function parseStateFile(text: string | undefined, family: RecordFamily): Recalled | undefined {
  if (text === undefined) return undefined;
  try {
    const f = JSON.parse(text) as Partial<StateFile>;
    if (f.version === 2 && f.family === family && typeof f.generation === 'number' && typeof f.digest === 'string' && typeof f.variant === 'string') {
      return { generation: f.generation, digest: f.digest, variant: f.variant };
    }
  } catch {
    /* not a state file */
  }
  return undefined;
}

/** Commit records of one backend (`name` keys its state files). */
export function commitRecords(store: StateStore, name: string): CommitRecords {
  const records = new Map<string, CommitRecord>();
  const key = (target: Target, family: RecordFamily) => `${name}-${target.kind === 'netns' ? target.name : 'host'}-${family}.json`;
  const write = (target: Target, family: RecordFamily, file: object): void => {
    try {
      store.write(key(target, family), `${JSON.stringify(file)}\n`);
    } catch {
      /* the state file is an optimisation: without it the next process reads the kernel back */
    }
  };
  const remember = (target: Target, r: CommitRecord): void => {
    records.set(`${targetId(target)}/${r.family}`, r);
    const file: StateFile = { version: 2, variant: r.variant, family: r.family, generation: r.generation, digest: digestText(r.digest) };
    write(target, r.family, file);
  };
  return {
    record(target, r, startedAt) {
      remember(target, r);
      if (startedAt === undefined) return;
      for (const other of FAMILIES.filter((f) => f !== r.family)) {
        const o = records.get(`${targetId(target)}/${other}`);
        if (o?.generation === startedAt) remember(target, { ...o, generation: r.generation });
      }
    },
    forget(target) {
      for (const f of FAMILIES) {
        records.delete(`${targetId(target)}/${f}`);
        write(target, f, { version: 2, forgotten: true });
      }
    },
    recall(target, family) {
      const r = records.get(`${targetId(target)}/${family}`);
      if (r) return { generation: r.generation, digest: digestText(r.digest), variant: r.variant, ...(r.plan ? { plan: r.plan } : {}) };
      return parseStateFile(store.read(key(target, family)), family);
    },
  };
}

/** Why the kernel cannot be trusted to hold `from` as recorded; undefined when it can. */
export function distrust(rec: Recalled | undefined, variant: string, generation: number, from: Plan): string | undefined {
  if (!rec) return 'no record of a previous commit';
  if (rec.variant !== variant) return `the kernel was loaded with variant ${rec.variant}`;
  if (rec.generation !== generation) return `ruleset generation ${generation}, recorded ${rec.generation}`;
  if (rec.plan !== from && rec.digest !== digestText(planDigest(from))) return 'the recorded plan is not --from';
  return undefined;
}
