/**
 * The nftnl backend's sync decisions, generation trust, generation-bound batches and state files
 * through its ports (no root, no addon): a fake netlink (batches counted, a generation that moves
 * with each commit and refuses batches bound to another one, a listing of the table it was told
 * it holds) and an in-memory state store.
 */
import { describe, expect, it } from 'vitest';
import { NO_PREVIOUS_PLAN, SETTINGS_CHANGED } from '@kpb/backend';
import type { StateStore, Target } from '@kpb/backend';
import { compile, nodeSettings } from '@kpb/compiler';
import type { Plan } from '@kpb/compiler';
import type { NftLayout } from '@kpb/backend-nft';
import type { Listing } from '@kpb/native';
import { createNftnlBackend } from '../src/index.ts';
import type { NetlinkPort } from '../src/index.ts';
import { listingOfStream } from './fake-listing.ts';
import { cluster, editCluster, plan, SETTINGS } from './helpers.ts';

const target: Target = { kind: 'netns', name: 'kpb-fake-1' };
const STATE_KEY = 'nftnl-kpb-fake-1-ip.json';
const c = cluster(100);
const A = plan(c);
const B = plan(editCluster(c));

/** One kernel: a generation that moves with every batch (ours or another writer's). */
class FakeKernel {
  generation = 7;
  /** Batches committed. */
  batches = 0;
  /** Batches refused because they were bound to a generation that had moved. */
  refused = 0;
  /** The generation each batch was bound to (undefined: not bound). */
  readonly boundTo: (number | undefined)[] = [];
  /** Families listed (`listRuleset` calls). */
  readonly listed: string[] = [];
  /** Another writer, run when a batch arrives, before the kernel checks its generation. */
  beforeCommit: (() => void) | undefined;
  /** Another writer, run right after a batch was committed. */
  afterCommit: (() => void) | undefined;
  table: Listing | undefined;
  readonly files = new Map<string, string>();
  state: StateStore = { read: (key) => this.files.get(key), write: (key, text) => void this.files.set(key, text) };
  netlink: NetlinkPort = {
    applyBatch: async (_netns, batch, options) => {
      this.beforeCommit?.();
      this.boundTo.push(options?.generation);
      if (options?.generation !== undefined && options.generation !== this.generation) {
        this.refused++;
        throw Object.assign(new Error(`netlink: the ruleset generation is no longer ${options.generation} (ERESTART)`), { errno: 'ERESTART', label: 'batch begin/commit' });
      }
      this.batches++;
      this.generation++;
      this.afterCommit?.();
      return { messages: 3, bytes: batch.length, sendMs: 1, buildMs: 1 };
    },
    getGeneration: async () => this.generation,
    listRuleset: async (_netns, family) => {
      this.listed.push(family);
      const none: Listing = { exists: false, generation: 0, family, table: null, chains: [], sets: [] };
      return { ...(this.table ?? none), generation: this.generation };
    },
  };
  /** A backend on this kernel (a new one is a new process, sharing only the state store). */
  backend(layout: NftLayout = 'flat') {
    return createNftnlBackend({ layout, ports: { netlink: this.netlink, state: this.state, clock: () => 0 } });
  }
  /** Make the listing of kpb's table what the kernel would hold after a full apply of `p`. */
  holds(p: Plan, layout: NftLayout = 'flat'): void {
    this.table = listingOfStream(createNftnlBackend({ layout }).encodePlan(p), this.generation);
  }
}
const fakeKernel = () => new FakeKernel();

describe('nftnl sync through fake ports', () => {
  it('no previous plan, settings changed: full apply', async () => {
    const k = fakeKernel();
    const nftnl = k.backend();
    expect(await nftnl.sync(target, undefined, A)).toMatchObject({ mode: 'full', reason: NO_PREVIOUS_PLAN });
    const other = compile(c, nodeSettings({ ...SETTINGS, masqueradeAll: true }));
    expect(await nftnl.sync(target, other, A)).toMatchObject({ mode: 'full', reason: SETTINGS_CHANGED });
    expect(k.batches).toBe(2);
    expect(k.listed).toEqual([]);
  });

  it('trusted (generation and plan as recorded): no read-back, one small batch, the new generation recorded', async () => {
    const k = fakeKernel();
    const nftnl = k.backend();
    await nftnl.apply(target, A);
    expect(nftnl.recorded(target)?.generation).toBe(8);
    const r = await nftnl.sync(target, A, B);
    expect(r).toMatchObject({ mode: 'incremental', size: { unit: 'messages', count: 3 } });
    expect(r.reason).toBeUndefined();
    expect(k.listed).toEqual([]);
    expect(k.batches).toBe(2);
    expect(nftnl.recorded(target)?.generation).toBe(9);
    // an equal plan that is not the recorded object: trusted by digest
    expect((await nftnl.sync(target, plan(editCluster(c)), A)).reason).toBeUndefined();
    expect(k.listed).toEqual([]);
    // nothing to send: no batch, the generation stays
    const none = await nftnl.sync(target, A, plan(c));
    expect(none).toMatchObject({ mode: 'incremental', size: { count: 0 } });
    expect(k.batches).toBe(3);
    expect(nftnl.recorded(target)?.generation).toBe(10);
  });

  it('generation moved (another writer), table intact: read back, stays incremental and says why', async () => {
    const k = fakeKernel();
    const nftnl = k.backend();
    await nftnl.apply(target, A);
    k.generation += 1;
    k.holds(A);
    const r = await nftnl.sync(target, A, B);
    expect(r).toMatchObject({ mode: 'incremental', reason: 'kernel read back and found to hold --from (ruleset generation 9, recorded 8)' });
    expect(k.listed).toEqual(['ip']);
  });

  it('generation moved and the table differs: full apply, drift named with why it was read back', async () => {
    const k = fakeKernel();
    const nftnl = k.backend();
    await nftnl.apply(target, A);
    k.generation += 1;
    k.holds(B);
    const r = await nftnl.sync(target, A, B);
    expect(r.mode).toBe('full');
    expect(r.reason).toMatch(/^drift: the kernel does not hold the previous plan \(\d+ difference\(s\), first: .*\); read back because ruleset generation 9, recorded 8$/);
  });

  it('the kernel was loaded with another layout: read back', async () => {
    const k = fakeKernel();
    await k.backend('kube-proxy').apply(target, A);
    k.holds(A, 'kube-proxy');
    const r = await k.backend('flat').sync(target, A, B);
    expect(r.mode).toBe('full');
    expect(r.reason).toMatch(/read back because the kernel was loaded with variant kube-proxy$/);
    expect(k.listed).toEqual(['ip']);
  });

  it('the recorded plan is not --from: read back', async () => {
    const k = fakeKernel();
    const nftnl = k.backend();
    await nftnl.apply(target, A);
    k.holds(B);
    const r = await nftnl.sync(target, B, A);
    expect(r).toMatchObject({ mode: 'incremental', reason: 'kernel read back and found to hold --from (the recorded plan is not --from)' });
  });

  it('state file: written after each commit, read by a new instance, forgotten on flush', async () => {
    const k = fakeKernel();
    await k.backend().apply(target, A);
    const written = JSON.parse(k.files.get(STATE_KEY)!) as { version: number; variant: string; family: string; generation: number; digest: string };
    expect(written).toMatchObject({ version: 2, variant: 'flat', family: 'ip', generation: 8 });
    expect(written.digest).toMatch(/^[0-9a-f]{32}:[0-9a-f]{32}$/);

    const second = k.backend();
    expect(second.recorded(target)).toEqual({ generation: 8, digest: written.digest });
    const r = await second.sync(target, A, B);
    expect(r.reason).toBeUndefined();
    expect(k.listed).toEqual([]);
    expect(JSON.parse(k.files.get(STATE_KEY)!)).toMatchObject({ generation: 9 });

    await second.flush(target);
    expect(JSON.parse(k.files.get(STATE_KEY)!)).toEqual({ version: 2, forgotten: true });
    expect(second.recorded(target)).toBeUndefined();
    k.holds(B);
    const third = await k.backend().sync(target, B, A);
    expect(third.reason).toBe('kernel read back and found to hold --from (no record of a previous commit)');
  });

  it('a state store that cannot write does not fail the commit (the next process reads back)', async () => {
    const k = fakeKernel();
    k.state = { read: () => undefined, write: () => { throw new Error('read-only file system'); } };
    const nftnl = k.backend();
    await expect(nftnl.apply(target, A)).resolves.toMatchObject({ size: { count: 3 } });
    expect((await nftnl.sync(target, A, B)).reason).toBeUndefined();
    k.holds(B);
    expect((await k.backend().sync(target, B, A)).reason).toMatch(/no record of a previous commit/);
  });
});

describe('nftnl batches bound to the ruleset generation (fake netlink)', () => {
  it('every batch is bound to the generation read before it; a trusted sync lists nothing', async () => {
    const k = fakeKernel();
    const nftnl = k.backend();
    await nftnl.apply(target, A);
    await nftnl.sync(target, A, B);
    expect(k.boundTo).toEqual([7, 8]);
    expect(k.listed).toEqual([]);
  });

  it('a writer right after the full commit is not recorded as ours: the next sync reads back', async () => {
    const k = fakeKernel();
    const nftnl = k.backend();
    k.afterCommit = () => {
      k.generation++;
      k.afterCommit = undefined;
    };
    await nftnl.apply(target, A);
    expect(k.generation).toBe(9);
    expect(nftnl.recorded(target)?.generation).toBe(8);
    k.holds(A);
    expect((await nftnl.sync(target, A, B)).reason).toBe('kernel read back and found to hold --from (ruleset generation 9, recorded 8)');
  });

  it('a writer between the drift check and the update: the kernel refuses it, full apply with the reason, our own generation recorded', async () => {
    const k = fakeKernel();
    const nftnl = k.backend();
    await nftnl.apply(target, A);
    k.beforeCommit = () => {
      k.generation++; // the foreign commit
      k.beforeCommit = undefined;
    };
    const r = await nftnl.sync(target, A, B);
    expect(r.mode).toBe('full');
    expect(r.reason).toMatch(/^incremental update failed, full apply instead: the ruleset generation moved from 8 after the drift check \(another writer committed\): .*ERESTART/);
    expect(k.refused).toBe(1);
    expect(k.boundTo).toEqual([7, 8, 9]);
    expect(k.batches).toBe(2);
    expect(nftnl.recorded(target)?.generation).toBe(10);
    expect(k.generation).toBe(10);
    // the full apply's record holds: the next sync trusts it
    expect((await nftnl.sync(target, B, A)).reason).toBeUndefined();
  });

  it('a full apply whose generation keeps moving is retried with the new one, then given up with a clear error', async () => {
    const k = fakeKernel();
    let foreign = 2;
    k.beforeCommit = () => {
      if (foreign-- > 0) k.generation++;
    };
    const nftnl = k.backend();
    await nftnl.apply(target, A);
    expect(k.refused).toBe(2);
    expect(k.boundTo).toEqual([7, 8, 9]);
    expect(nftnl.recorded(target)?.generation).toBe(10);

    k.beforeCommit = () => void k.generation++;
    await expect(nftnl.apply(target, B)).rejects.toThrow(/^nftnl: full apply refused 3 times because the ruleset generation kept moving .*; last: .*ERESTART/);
    expect(k.refused).toBe(5);
    expect(nftnl.recorded(target)?.generation).toBe(10);
  });

  it('other errors are not retried', async () => {
    const k = fakeKernel();
    k.netlink.applyBatch = async () => {
      throw Object.assign(new Error('netlink: No such file or directory (ENOENT) at batch end'), { errno: 'ENOENT' });
    };
    await expect(k.backend().apply(target, A)).rejects.toMatchObject({ errno: 'ENOENT' });
  });
});
