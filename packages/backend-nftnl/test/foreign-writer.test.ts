/**
 * A foreign writer on a real kernel: between kpb's generation check and its commit, another
 * program commits to nf_tables in the same namespace (`nft add …`). The kernel must refuse kpb's
 * batch, which was bound to the generation it checked; the sync ends as a full apply naming the
 * generation; and what is recorded afterwards is the generation kpb's own commit produced.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { StateStore } from '@kpb/backend';
import { canUseKernel } from '@kpb/testing';
import { getGeneration } from '@kpb/native';
import { createNftnlBackend } from '../src/index.ts';
import type { NetlinkPort } from '../src/index.ts';
import { nativeNetlink } from '../src/transport.ts';
import { cluster, deleteNetns, editCluster, makeNetns, nftIn, plan } from './helpers.ts';
import type { NsTarget } from './helpers.ts';

/** The addon, counting calls, with a foreign commit run once (when armed) before a batch goes out. */
class ForeignWriterPort implements NetlinkPort {
  readonly calls = { applyBatch: 0, getGeneration: 0, listRuleset: 0 };
  /** nft arguments of the foreign commit the next batch meets. */
  armed: string[] | undefined;
  constructor(readonly t: NsTarget) {}
  applyBatch: NetlinkPort['applyBatch'] = async (netns, batch, options) => {
    this.calls.applyBatch++;
    if (this.armed) {
      nftIn(this.t, this.armed);
      this.armed = undefined;
    }
    return nativeNetlink.applyBatch(netns, batch, options);
  };
  getGeneration: NetlinkPort['getGeneration'] = (netns) => {
    this.calls.getGeneration++;
    return nativeNetlink.getGeneration(netns);
  };
  listRuleset: NetlinkPort['listRuleset'] = (netns, family, table) => {
    this.calls.listRuleset++;
    return nativeNetlink.listRuleset(netns, family, table);
  };
}

function memoryState(): StateStore {
  const files = new Map<string, string>();
  return { read: (key) => files.get(key), write: (key, text) => void files.set(key, text) };
}

describe.skipIf(!canUseKernel())('nftnl: a foreign writer between the generation check and the commit (real kernel)', () => {
  const made: NsTarget[] = [];
  afterAll(() => {
    for (const t of made.splice(0)) deleteNetns(t);
  });
  const a = cluster(200);
  const A = plan(a);
  const B = plan(editCluster(a));

  for (const [what, foreign] of [
    ['another table', ['add', 'table', 'ip', 'foreign']],
    ['a chain in kpb table', ['add', 'chain', 'ip', 'kube-proxy', 'foreign-chain']],
  ] as const) {
    it(`${what}: the kernel refuses kpb's bound batch, the sync is a full apply naming the generation, kpb's own generation is recorded`, async () => {
      const t = makeNetns();
      made.push(t);
      const port = new ForeignWriterPort(t);
      const nftnl = createNftnlBackend({ ports: { netlink: port, state: memoryState() } });
      await nftnl.apply(t, A);
      const g0 = await getGeneration(t.name);
      expect(nftnl.recorded(t)?.generation).toBe(g0);

      port.armed = [...foreign];
      port.calls.applyBatch = 0;
      const r = await nftnl.sync(t, A, B);
      expect(r.mode).toBe('full');
      expect(r.reason).toMatch(new RegExp(`^incremental update failed, full apply instead: the ruleset generation moved from ${g0} after the drift check .*generation is no longer ${g0}.*ERESTART`));
      expect(port.calls.applyBatch).toBe(2); // the refused update, then the full apply
      // foreign commit (g0 + 1), then kpb's full apply (g0 + 2): only the latter is recorded as kpb's
      const now = await getGeneration(t.name);
      expect(now).toBe(g0 + 2);
      expect(nftnl.recorded(t)?.generation).toBe(now);
      expect(await nftnl.verify(t, B)).toEqual({ ok: true, differences: [] });
      if (what === 'another table') expect(nftIn(t, ['list', 'tables'])).toContain('table ip foreign');

      // Nobody else writes: the next sync trusts the record, sends only the change and lists nothing.
      port.calls.listRuleset = 0;
      const next = await nftnl.sync(t, B, A);
      expect(next).toMatchObject({ mode: 'incremental' });
      expect(next.reason).toBeUndefined();
      expect(port.calls.listRuleset).toBe(0);
      expect(nftnl.recorded(t)?.generation).toBe(now + 1);
      expect(await getGeneration(t.name)).toBe(now + 1);
      expect(await nftnl.verify(t, A)).toEqual({ ok: true, differences: [] });
    }, 120_000);
  }

  it('a full apply the kernel refuses (generation moved) is retried and records the generation of its own commit', async () => {
    const t = makeNetns();
    made.push(t);
    const port = new ForeignWriterPort(t);
    const nftnl = createNftnlBackend({ ports: { netlink: port, state: memoryState() } });
    const g0 = await getGeneration(t.name);
    port.armed = ['add', 'table', 'ip', 'foreign'];
    await nftnl.apply(t, A);
    expect(port.calls.applyBatch).toBe(2);
    expect(await getGeneration(t.name)).toBe(g0 + 2);
    expect(nftnl.recorded(t)?.generation).toBe(g0 + 2);
    expect(await nftnl.verify(t, A)).toEqual({ ok: true, differences: [] });
  }, 120_000);
});
