/**
 * The nft backend's generation trust through its ports (no root): a fake `nft` whose every
 * `nft -f` moves a fake ruleset generation by one, plus `foreign` steps of another writer.
 */
import { describe, expect, it } from 'vitest';
import type { RunTool, StateStore, Target } from '@kpb/backend';
import { compile, nodeSettings } from '@kpb/compiler';
import { generateCluster } from '@kpb/model';
import { createNftBackend } from '../src/index.ts';
import { fakeNft, listingOf } from './fake-nft.ts';

const target: Target = { kind: 'netns', name: 'kpb-fake-gen' };
const settings = nodeSettings({ nodeName: 'node-1', clusterCIDR: '10.244.0.0/16' });
const cluster = generateCluster({ services: 40, endpointsPerService: 3, seed: 2 });
const A = compile(cluster, settings);
const B = compile({ ...cluster, services: cluster.services.slice(2) }, settings);

function memoryStore(): StateStore & { files: Map<string, string> } {
  const files = new Map<string, string>();
  return { files, read: (key) => files.get(key), write: (key, text) => void files.set(key, text) };
}

function setup(store = memoryStore()) {
  const nft = fakeNft();
  const kernel = { generation: 7, /** another writer's commits during the next `nft -f` */ foreign: 0 };
  const runTool: RunTool = async (t, tool, args, options) => {
    const r = await nft.runTool(t, tool, args, options);
    if (args[0] === '-f') kernel.generation += 1 + kernel.foreign;
    kernel.foreign = 0;
    return r;
  };
  const backend = createNftBackend({ ports: { runTool, clock: () => 0, generation: async () => kernel.generation, state: store } });
  return { nft, kernel, backend, store, runTool };
}

describe('nft sync trusts the ruleset generation', () => {
  it('after kpb’s own commit: no read-back, only the change is sent', async () => {
    const { nft, backend } = setup();
    await backend.apply(target, A);
    const r = await backend.sync(target, A, B);
    expect(r).toMatchObject({ mode: 'incremental' });
    expect(r.reason).toBeUndefined();
    const back = await backend.sync(target, B, A);
    expect(back.mode).toBe('incremental');
    expect(nft.calls).toEqual(['-f', '-f', '-f']);
  });

  it('another process trusts the state file kpb wrote', async () => {
    const first = setup();
    await first.backend.apply(target, A);
    const second = createNftBackend({ ports: { runTool: first.runTool, clock: () => 0, generation: async () => first.kernel.generation, state: first.store } });
    expect((await second.sync(target, compile(cluster, settings), B)).mode).toBe('incremental');
    expect(first.nft.calls).toEqual(['-f', '-f']);
  });

  it('the generation moved since kpb’s commit: the table is read back, and the reason says why', async () => {
    const { nft, kernel, backend } = setup();
    await backend.apply(target, A);
    kernel.generation += 1; // somebody else committed something, anywhere in nf_tables
    nft.tables.set('ip', listingOf(backend.renderCanonical(A)));
    const r = await backend.sync(target, A, B);
    expect(r).toMatchObject({ mode: 'incremental', reason: 'kernel read back and found to hold --from (ruleset generation 9, recorded 8)' });
    expect(nft.calls).toEqual(['-f', 'list ip', '-f']);
  });

  it('the recorded plan is not --from: the table is read back', async () => {
    const { nft, backend } = setup();
    await backend.apply(target, B);
    const r = await backend.sync(target, A, B);
    expect(r).toMatchObject({ mode: 'full', reason: expect.stringMatching(/^drift: .*; read back because the recorded plan is not --from$/) });
    expect(nft.calls).toEqual(['-f', 'list ip', '-f']);
  });

  for (const [what, commit] of [
    ['a full apply', (b: ReturnType<typeof setup>['backend']) => b.apply(target, A)],
    ['an incremental sync', (b: ReturnType<typeof setup>['backend']) => b.sync(target, B, A)],
  ] as const) {
    it(`another writer commits during ${what}: nothing is recorded, the next sync is full and says why`, async () => {
      const { nft, kernel, backend, store } = setup();
      await backend.apply(target, B);
      kernel.foreign = 2;
      await commit(backend);
      expect(JSON.parse(store.files.get('nft-kpb-fake-gen-ip.json')!)).toEqual({ version: 2, forgotten: true });
      const calls = nft.calls.length;
      const r = await backend.sync(target, A, B);
      expect(r).toMatchObject({ mode: 'full', reason: "ruleset generation moved by 3 during kpb's commit, which makes 1 step (another writer)" });
      expect(nft.calls.slice(calls)).toEqual(['-f']);
      // That full apply was kpb's alone: trusted again.
      expect((await backend.sync(target, B, A)).mode).toBe('incremental');
      expect(nft.calls.slice(calls)).toEqual(['-f', '-f']);
    });
  }

  it('without the addon (its loader throws): every sync reads back as before, nothing is recorded', async () => {
    const nft = fakeNft();
    const store = memoryStore();
    const noAddon = () => {
      throw new Error('@kpb/native: the native addon has not been built');
    };
    const backend = createNftBackend({ ports: { runTool: nft.runTool, clock: () => 0, generation: noAddon, state: store } });
    await backend.apply(target, A);
    nft.tables.set('ip', listingOf(backend.renderCanonical(A)));
    const r = await backend.sync(target, A, B);
    expect(r.mode).toBe('incremental');
    expect(r.reason).toBeUndefined();
    expect(nft.calls).toEqual(['-f', 'list ip', '-f']);
    expect(store.files.size).toBe(0);
  });

  it('flush forgets the records: the next sync reads back', async () => {
    const { nft, backend } = setup();
    await backend.apply(target, A);
    await backend.flush(target);
    const r = await backend.sync(target, A, B);
    expect(r).toMatchObject({ mode: 'full', reason: expect.stringMatching(/read back because no record of a previous commit$/) });
    expect(nft.calls).toEqual(['-f', '-f', 'list ip', '-f']);
  });
});
