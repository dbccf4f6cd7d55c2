/**
 * What the nftnl backend recorded after its last commit to a target: the ruleset generation and
 * a digest of the applied plan, kept in the instance (with the plan object) and in the state
 * store (`nftnl-<netns>.json`) for the next process.
 */
import { targetId } from '@kpb/backend';
import type { StateStore, Target } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
import type { NftFamily, NftLayout } from '@kpb/backend-nft';
import { digestText } from './digest.ts';
import type { PlanDigest } from './digest.ts';

interface CommitRecord {
  readonly layout: NftLayout;
  readonly family: NftFamily;
  readonly generation: number;
  readonly digest: PlanDigest;
  /** The plan object applied last (in this process). */
  readonly plan?: Plan;
}

/** A record as recalled: from this instance (with the plan) or from the state store (without). */
export interface Recalled {
  readonly layout: NftLayout;
  readonly generation: number;
  readonly digest: string;
  readonly plan?: Plan;
}

interface StateFile {
  readonly version: 1;
  readonly layout: NftLayout;
  readonly family: NftFamily;
  readonly generation: number;
  readonly digest: string;
}

export interface CommitRecords {
  /** Remember a commit (the state store is best effort: without it the next process reads the kernel back). */
  record(target: Target, r: CommitRecord): void;
  /** Forget every family of the target (after a flush). */
  forget(target: Target): void;
  /** This instance's record first, then the state store's. */
  recall(target: Target, family: NftFamily): Recalled | undefined;
}

/** The state file's name, `nftnl-NAME.json` (no `netns-`, unlike `targetId`): kept so that state files already on disk are found. */
const stateKey = (target: Target): string => `nftnl-${target.kind === 'netns' ? target.name : 'host'}.json`;

function parseStateFile(text: string | undefined, family: NftFamily): Recalled | undefined {
  if (text === undefined) return undefined;
  try {
    const f = JSON.parse(text) as Partial<StateFile>;
    if (f.version === 1 && f.family === family && typeof f.generation === 'number' && typeof f.digest === 'string' && f.layout) {
      return { generation: f.generation, digest: f.digest, layout: f.layout };
    }
  } catch {
    /* not a state file */
  }
  return undefined;
}

export function commitRecords(store: StateStore): CommitRecords {
  const records = new Map<string, CommitRecord>();
  const write = (target: Target, text: string): void => {
    try {
      store.write(stateKey(target), `${text}\n`);
    } catch {
      /* the state file is an optimisation: without it the next process reads the kernel back */
    }
  };
  return {
    record(target, r) {
      records.set(`${targetId(target)}/${r.family}`, r);
      const file: StateFile = { version: 1, layout: r.layout, family: r.family, generation: r.generation, digest: digestText(r.digest) };
      write(target, JSON.stringify(file));
    },
    forget(target) {
      for (const f of ['ip', 'ip6']) records.delete(`${targetId(target)}/${f}`);
      write(target, JSON.stringify({ version: 1, forgotten: true }));
    },
    recall(target, family) {
      const r = records.get(`${targetId(target)}/${family}`);
      if (r) return { generation: r.generation, digest: digestText(r.digest), layout: r.layout, ...(r.plan ? { plan: r.plan } : {}) };
      return parseStateFile(store.read(stateKey(target)), family);
    },
  };
}
