/**
 * Real-kernel tests, each in throwaway network namespaces (deleted in afterAll, also on failure).
 * Never touches the root namespace.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNftBackend } from '@kpb/backend-nft';
import { listRuleset } from '@kpb/native';
import type { Plan } from '@kpb/compiler';
import { canUseKernel } from '@kpb/testing';
import { createNftnlBackend } from '../src/index.ts';
import { listingHoldsRuleset } from '../src/compare.ts';
import { blocksSorted, cluster, deleteNetns, editCluster, listRulesetText, makeNetns, nftIn, plan, structure } from './helpers.ts';
import type { NsTarget } from './helpers.ts';

const LAYOUTS = ['flat', 'kube-proxy', 'maps'] as const;

describe.skipIf(!canUseKernel())('nftnl backend on a real kernel', () => {
  const made: NsTarget[] = [];
  const ns = (): NsTarget => {
    const t = makeNetns();
    made.push(t);
    return t;
  };
  let stateDir = '';
  let A: Plan;
  let B: Plan;

  beforeAll(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'kpb-nftnl-state-'));
    const a = cluster(1000);
    A = plan(a);
    B = plan(editCluster(a));
  });
  afterAll(() => {
    for (const t of made.splice(0)) deleteNetns(t);
    rmSync(stateDir, { recursive: true, force: true });
  });

  for (const layout of LAYOUTS) {
    describe(`layout ${layout}`, () => {
      it('apply → verify ok → readBack equals the nft backend canonical form → flush', async () => {
        const t = ns();
        const nftnl = createNftnlBackend({ layout, stateDir });
        const r = await nftnl.apply(t, A);
        expect(r.size.unit).toBe('messages');
        expect(r.size.count).toBeGreaterThan(1000);
        const v = await nftnl.verify(t, A);
        expect(v.differences).toEqual([]);
        expect(v.ok).toBe(true);
        const nft = createNftBackend({ layout });
        // readBack through the addon = readBack through `nft list table` = the plan's canonical form.
        const back = await nftnl.readBack(t);
        expect(back).toBe(await nft.readBack(t));
        expect(back).toBe(nft.renderCanonical(A));
        await nftnl.flush(t);
        expect(listRulesetText(t)).toBe('');
        await nftnl.flush(t); // absent table: no-op
        expect(listRulesetText(t)).toBe('');
      }, 120_000);

      it('equivalence: nft -f and the addon print the same `nft list ruleset` (1000 services)', async () => {
        const viaNft = ns();
        const viaNftnl = ns();
        await createNftBackend({ layout }).apply(viaNft, A);
        await createNftnlBackend({ layout, stateDir }).apply(viaNftnl, A);
        const text = listRulesetText(viaNft);
        expect(text.length).toBeGreaterThan(10_000);
        expect(listRulesetText(viaNftnl)).toBe(text);
        // Stronger: every object, expression attribute and userdata byte the kernel holds.
        expect(await structure(viaNftnl)).toEqual(await structure(viaNft));
      }, 180_000);

      it('sync A→B sends only the changes and equals a full apply of B', async () => {
        const synced = ns();
        const full = ns();
        const nftnl = createNftnlBackend({ layout, stateDir });
        await nftnl.apply(synced, A);
        const r = await nftnl.sync(synced, A, B);
        expect(r.reason).toBeUndefined();
        expect(r.mode).toBe('incremental');
        expect(r.changedServicePorts.length).toBeGreaterThan(20);
        expect(r.changedServicePorts.length).toBeLessThan(200);
        expect(r.size.count).toBeLessThan(1000);
        await createNftBackend({ layout }).apply(full, B);
        // Same blocks byte for byte; only the kernel's creation order of objects differs.
        expect(blocksSorted(listRulesetText(synced))).toBe(blocksSorted(listRulesetText(full)));
        expect((await nftnl.verify(synced, B)).ok).toBe(true);
        // and back
        const back = await nftnl.sync(synced, B, A);
        expect(back.mode).toBe('incremental');
        expect((await nftnl.verify(synced, A)).ok).toBe(true);
        // no change: nothing sent
        const none = await nftnl.sync(synced, A, A);
        expect(none.mode).toBe('incremental');
        expect(none.size.count).toBe(0);
      }, 180_000);
    });
  }

  it('a new process (a new backend instance) syncs incrementally from the state file', async () => {
    const t = ns();
    await createNftnlBackend({ stateDir }).apply(t, A);
    const state = JSON.parse(readFileSync(join(stateDir, `nftnl-${t.name}-ip.json`), 'utf8')) as { generation: number; digest: string };
    expect(state.generation).toBeGreaterThan(0);
    const fresh = createNftnlBackend({ stateDir });
    const r = await fresh.sync(t, plan(cluster(1000)), B); // equal to A, not the same object
    expect(r.reason).toBeUndefined();
    expect(r.mode).toBe('incremental');
    expect((await fresh.verify(t, B)).ok).toBe(true);
  }, 120_000);

  it('drift: a rule or element deleted by hand is detected (generation), sync falls back to full, verify lists it', async () => {
    for (const what of ['rule', 'element'] as const) {
      const t = ns();
      const nftnl = createNftnlBackend({ stateDir });
      await nftnl.apply(t, A);
      const gen = nftnl.recorded(t)!.generation;
      if (what === 'rule') {
        const listing = nftIn(t, ['-a', 'list', 'chain', 'ip', 'kube-proxy', 'masquerading']);
        const handle = /masquerade fully-random # handle (\d+)/.exec(listing)![1]!;
        nftIn(t, ['delete', 'rule', 'ip', 'kube-proxy', 'masquerading', 'handle', handle]);
      } else {
        const sp = A.servicePorts.find((s) => s.flags.hasInternalEndpoints && !s.flags.internalPolicy.startsWith('l'))!;
        nftIn(t, ['delete', 'element', 'ip', 'kube-proxy', 'service-ips', `{ ${sp.clusterIP} . ${sp.protocol.toLowerCase()} . ${sp.port} }`]);
      }
      const v = await nftnl.verify(t, A);
      expect(v.ok).toBe(false);
      expect(v.differences[0]!.object).toMatch(what === 'rule' ? /chain masquerading/ : /map service-ips element/);
      const r = await nftnl.sync(t, A, B);
      expect(r.mode).toBe('full');
      expect(r.reason).toMatch(new RegExp(`generation \\d+, recorded ${gen}`));
      expect(r.reason).toMatch(/drift/);
      expect((await nftnl.verify(t, B)).ok).toBe(true);
    }
  }, 180_000);

  it('listingHoldsRuleset: holds after apply; after hand edits, the same differences as the canonical comparison of every object', async () => {
    const t = ns();
    const nftnl = createNftnlBackend({ stateDir });
    await nftnl.apply(t, A);
    const rs = nftnl.build(A);
    const list = () => listRuleset(t.name, 'ip', 'kube-proxy');
    expect(listingHoldsRuleset(await list(), rs, 'why')).toEqual({ holdsFrom: true, readBackBecause: 'why' });
    const sp = A.servicePorts.find((s) => s.flags.hasInternalEndpoints && !s.flags.internalPolicy.startsWith('l'))!;
    nftIn(t, ['delete', 'element', 'ip', 'kube-proxy', 'service-ips', `{ ${sp.clusterIP} . ${sp.protocol.toLowerCase()} . ${sp.port} }`]);
    nftIn(t, ['add', 'element', 'ip', 'kube-proxy', 'service-ips', '{ 10.255.255.1 . tcp . 1 : drop }']);
    nftIn(t, ['add', 'rule', 'ip', 'kube-proxy', 'masquerading', 'accept']);
    nftIn(t, ['add', 'chain', 'ip', 'kube-proxy', 'aaa-foreign']);
    const endpointChain = rs.chains.find((c) => c.name.startsWith('endpoint-') && c.rules.length > 0)!.name;
    nftIn(t, ['flush', 'chain', 'ip', 'kube-proxy', endpointChain]);
    const drift = listingHoldsRuleset(await list(), rs);
    if (drift.holdsFrom) throw new Error('hand edits not seen');
    // The same differences, in the same order, as a verify through `nft list table`.
    const canonical = (await createNftBackend().verify(t, A)).differences;
    expect(canonical.length).toBeGreaterThanOrEqual(5);
    expect(drift.differences).toEqual(canonical);
    expect((await nftnl.verify(t, A)).differences).toEqual(canonical);
  }, 120_000);

  it('a change outside kpb table (generation moved, table intact) is read back and the sync stays incremental', async () => {
    const t = ns();
    const nftnl = createNftnlBackend({ stateDir });
    await nftnl.apply(t, A);
    nftIn(t, ['add', 'table', 'ip', 'someone-else']);
    const r = await nftnl.sync(t, A, B);
    expect(r.mode).toBe('incremental');
    expect(r.reason).toMatch(/read back/);
    expect((await nftnl.verify(t, B)).ok).toBe(true);
    expect(nftIn(t, ['list', 'tables'])).toContain('someone-else');
  }, 120_000);

  it('a kernel failure in the middle of a batch leaves the ruleset byte-for-byte as before and names the object', async () => {
    const t = ns();
    await createNftnlBackend({ stateDir }).apply(t, A);
    const before = listRulesetText(t);
    // Every `service-…` chain written gets one more rule jumping to a chain that does not exist.
    const broken = createNftnlBackend({
      stateDir,
      testHooks: {
        extraRules: (chain) =>
          /^service-[A-Z0-9]{8}-/.test(chain) ? [{ statements: [{ kind: 'verdict', verdict: { kind: 'jump', chain: 'no-such-chain' } }] }] : undefined,
      },
    });
    const err = await broken.apply(t, B).then(
      () => undefined,
      (e: unknown) => e as Error & { errno?: string; label?: string },
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.errno).toBe('ENOENT');
    expect(err!.label).toMatch(/^rule \d+ in chain service-[A-Z0-9]{8}-ns/);
    expect(err!.message).toMatch(/No such file or directory/);
    expect(err!.message).toContain(err!.label!);
    expect(listRulesetText(t)).toBe(before);
    // the same through sync (a small batch)
    const e2 = await broken.sync(t, A, B).then(
      () => undefined,
      (e: unknown) => e as Error & { label?: string },
    );
    expect(e2?.label ?? '').toMatch(/^rule \d+ in chain service-/);
    expect(e2?.message ?? '').toMatch(/No such file or directory \(ENOENT\)/);
    expect(listRulesetText(t)).toBe(before);
  }, 180_000);

  it('10k services: apply, verify, flush', async () => {
    const t = ns();
    const big = plan(cluster(10_000));
    const nftnl = createNftnlBackend({ stateDir });
    const r = await nftnl.apply(t, big);
    expect(r.size.count).toBeGreaterThan(10_000);
    const v = await nftnl.verify(t, big);
    expect(v.differences.slice(0, 3)).toEqual([]);
    await nftnl.flush(t);
    expect(listRulesetText(t)).toBe('');
    expect(existsSync(join(stateDir, `nftnl-${t.name}-ip.json`))).toBe(true);
  }, 120_000);
});
