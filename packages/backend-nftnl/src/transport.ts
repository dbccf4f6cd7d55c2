/**
 * Sending op streams to the kernel through the netlink port (the native addon by default), and
 * naming the failing object when the kernel rejects a batch.
 */
import type { Target } from '@kpb/backend';
import { streamRuleset, TABLE } from '@kpb/backend-nft';
import type { NftFamily, NftLayout, NftRuleset } from '@kpb/backend-nft';
import type { Plan } from '@kpb/compiler';
import { applyBatch, getGeneration, listRuleset } from '@kpb/native';
import type { ApplyOptions, ApplyResult as BatchResult, Family, ListOptions, Listing, NetlinkError } from '@kpb/native';
import { encodeStream, estimateStreamSizes, NftnlEncoder } from './encode.ts';
import type { EncodeHooks, StreamSizes } from './encode.ts';

/** The addon calls the backend makes. */
export interface NetlinkPort {
  applyBatch(netns: string | null, batch: Uint8Array, options?: ApplyOptions): Promise<BatchResult>;
  getGeneration(netns: string | null): Promise<number>;
  listRuleset(netns: string | null, family: Family, table: string, options?: ListOptions): Promise<Listing>;
}

export const nativeNetlink: NetlinkPort = { applyBatch, getGeneration, listRuleset };

export const netnsOf = (target: Target): string | null => (target.kind === 'netns' ? target.name : null);

/** Makes the addon's error name the failing object: `op N` → the op's readable label. */
function relabel(e: unknown, labels: () => readonly string[]): Error {
  const err = e as NetlinkError;
  if (!(err instanceof Error)) return new Error(String(e));
  const m = /^op (\d+)(.*)$/.exec(err.label ?? '');
  if (!m) return err;
  const label = labels()[Number(m[1])];
  if (label === undefined) return err;
  const full = `${label}${m[2]}`;
  const out = new Error(err.message.replace(`at ${err.label}`, `at ${full}`), { cause: err }) as NetlinkError;
  out.name = 'NetlinkError';
  out.errno = err.errno;
  out.label = full;
  return out;
}

/**
 * Send one batch. Batches are encoded without labels (cheaper); only when the kernel rejects one
 * is it encoded again with labels, by `labels`, to name the failing op. With `generation`, the
 * kernel commits the batch only if the ruleset is still at that generation (else `generationMoved`).
 */
export async function sendBatch(netlink: NetlinkPort, target: Target, buf: Buffer, labels: () => readonly string[], generation?: number): Promise<BatchResult> {
  try {
    return await netlink.applyBatch(netnsOf(target), buf, generation !== undefined ? { generation } : undefined);
  } catch (e) {
    throw relabel(e, labels);
  }
}

/** The kernel refused a batch bound to a generation because another commit moved it. */
export const generationMoved = (e: unknown): e is NetlinkError => e instanceof Error && (e as NetlinkError).errno === 'ERESTART';

/** The generation a commit started at `generation` leaves (the kernel skips 0 when it wraps). */
export const nextGeneration = (generation: number): number => (generation >= 0xffff_ffff ? 1 : generation + 1);

/** Encoders of one backend instance (with its test hooks, if any). */
export interface Encoders {
  /** An encoder for kpb's table of `family`. */
  forTable(rs: Pick<NftRuleset, 'family' | 'table'>, labels: boolean): NftnlEncoder;
  /** The op stream that replaces the table with `rs`, with labels (to name a failing op). */
  labelled(rs: NftRuleset): NftnlEncoder;
  /** The op stream that replaces the table with `plan`'s, built one service port at a time (no labels). */
  full(plan: Plan, layout: NftLayout): Buffer;
}

/** A full encode's size, and what it was for: the service ports and endpoints it had. */
interface LastFull {
  readonly entries: number;
  readonly sizes: StreamSizes;
}

/**
 * The sizes to expect from the last full encode of the same family and layout, scaled to the
 * plan's service ports and endpoints, with margins: a stream larger than expected costs a copy
 * of it, room left unused only address space. (The estimate per service port suits flat and is
 * ~5 times too large for maps, which adds to the external memory that brings on full GCs.)
 */
function sizesFrom(last: LastFull | undefined, servicePorts: number, endpoints: number): StreamSizes {
  if (!last) return estimateStreamSizes(servicePorts, endpoints);
  const f = (servicePorts + endpoints) / last.entries;
  return { total: Math.ceil(last.sizes.total * f * 1.1) + 64 * 1024, beforeRules: Math.ceil(last.sizes.beforeRules * f * 1.2) + 16 * 1024 };
}

export function encoders(hooks: EncodeHooks | undefined): Encoders {
  const forTable = (rs: { family: NftFamily; table: string }, labels: boolean) => new NftnlEncoder(rs.family, rs.table, { labels, ...(hooks ? { hooks } : {}) });
  const last = new Map<string, LastFull>();
  return {
    forTable,
    labelled(rs) {
      const enc = forTable(rs, true);
      enc.replace(rs);
      return enc;
    },
    full(plan, layout) {
      let endpoints = 0;
      for (const sp of plan.servicePorts) endpoints += sp.endpoints.length;
      const key = `${plan.family}/${layout}`;
      const { buf, sizes } = encodeStream(streamRuleset(plan, { layout }), TABLE, sizesFrom(last.get(key), plan.servicePorts.length, endpoints), hooks);
      last.set(key, { entries: Math.max(1, plan.servicePorts.length + endpoints), sizes });
      return buf;
    },
  };
}
