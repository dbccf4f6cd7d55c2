/** The nft backend's sync decisions through its tool-runner port (no root, no kernel). */
import { describe, expect, it } from 'vitest';
import { NO_PREVIOUS_PLAN, SETTINGS_CHANGED } from '@kpb/backend';
import type { Target } from '@kpb/backend';
import { compile, diffPlans, nodeSettings } from '@kpb/compiler';
import { generateCluster } from '@kpb/model';
import { canonicalizeListing, createNftBackend } from '../src/index.ts';
import { fakeNft, listingOf } from './fake-nft.ts';

const target: Target = { kind: 'netns', name: 'kpb-fake-1' };
const settings = nodeSettings({ nodeName: 'node-1', clusterCIDR: '10.244.0.0/16' });
const cluster = generateCluster({ services: 60, endpointsPerService: 3, seed: 1 });
const A = compile(cluster, settings);
const B = compile({ ...cluster, services: cluster.services.slice(3) }, settings);

for (const layout of ['flat', 'kube-proxy'] as const) {
  describe(`nft sync (${layout}) through a fake nft`, () => {
    const setup = () => {
      const nft = fakeNft();
      let t = 0;
      const backend = createNftBackend({ layout, ports: { runTool: nft.runTool, clock: () => t++ } });
      return { nft, backend };
    };

    it('the fake lists what it is given (listingOf inverts canonicalizeListing)', () => {
      const canon = createNftBackend({ layout }).renderCanonical(A);
      expect(canonicalizeListing(listingOf(canon))).toBe(canon);
    });

    it('no previous plan: full apply, the kernel is not read', async () => {
      const { nft, backend } = setup();
      const r = await backend.sync(target, undefined, B);
      expect(r).toMatchObject({ mode: 'full', reason: NO_PREVIOUS_PLAN });
      expect(nft.calls).toEqual(['-f']);
      expect(nft.scripts[0]).toBe(backend.renderText(B));
    });

    it('settings changed: full apply, the kernel is not read', async () => {
      const { nft, backend } = setup();
      const r = await backend.sync(target, compile(cluster, nodeSettings({ nodeName: 'node-1', masqueradeAll: true })), B);
      expect(r).toMatchObject({ mode: 'full', reason: SETTINGS_CHANGED });
      expect(nft.calls).toEqual(['-f']);
    });

    it('the kernel holds --from: only the changes are sent', async () => {
      const { nft, backend } = setup();
      nft.tables.set('ip', listingOf(backend.renderCanonical(A)));
      const r = await backend.sync(target, A, B);
      expect(r.mode).toBe('incremental');
      expect(r.reason).toBeUndefined();
      const d = diffPlans(A, B);
      expect(r.changedServicePorts).toEqual([...d.added, ...d.changed, ...d.removed]);
      expect(r.changedServicePorts.length).toBeGreaterThan(0);
      expect(nft.calls).toEqual(['list ip', '-f']);
      expect(nft.scripts[0]).not.toContain('delete table');
      expect(nft.scripts[0]!.length).toBeLessThan(backend.renderText(B).length / 4);
    });

    it('no change: nothing is sent', async () => {
      const { nft, backend } = setup();
      nft.tables.set('ip', listingOf(backend.renderCanonical(A)));
      const r = await backend.sync(target, A, compile(cluster, settings));
      expect(r).toMatchObject({ mode: 'incremental', size: { count: 0 }, changedServicePorts: [] });
      expect(nft.calls).toEqual(['list ip']);
    });

    it('drift (the kernel holds something else): full apply, the reason names the first difference', async () => {
      const { nft, backend } = setup();
      nft.tables.set('ip', listingOf(backend.renderCanonical(B)));
      const r = await backend.sync(target, A, B);
      expect(r.mode).toBe('full');
      expect(r.reason).toMatch(/^drift: the kernel does not hold the previous plan \(\d+ difference\(s\), first: /);
      expect(nft.calls).toEqual(['list ip', '-f']);
      expect(nft.scripts[0]).toBe(backend.renderText(B));
      // no table at all
      const empty = setup();
      const e = await empty.backend.sync(target, A, B);
      expect(e.reason).toMatch(/^drift: .*first: missing table ip kube-proxy\)$/);
    });

    it('a failing incremental script is an error (nft -f is atomic: nothing changed)', async () => {
      const { nft, backend } = setup();
      nft.tables.set('ip', listingOf(backend.renderCanonical(A)));
      nft.failNext = 'Error: Could not process rule';
      await expect(backend.sync(target, A, B)).rejects.toThrow(/Could not process rule/);
    });
  });
}
