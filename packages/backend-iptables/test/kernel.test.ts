import { afterAll, describe, expect, it } from 'vitest';
import { canUseKernel } from '@kpb/testing';
import type { Plan } from '@kpb/compiler';
import { createIptablesBackend, renderText } from '../src/index.ts';
import { NODE, bigCluster, cluster, ep, mixCluster, oneServiceCluster, planOf, slice, svc } from './fixtures.ts';
import { foreignPart, foreignRules, fullSave, inNetns, netnsPool } from './netns.ts';

const variants = ['nft', 'legacy'] as const;

function planB(): Plan {
  // Mix with changes: svc1 loses an endpoint, svc6 gains one, svc8 is gone, svc9 is new.
  const base = mixCluster();
  const services = base.services.filter((s) => s.name !== 'svc8');
  services.push(svc('ns9', 'svc9', { clusterIPs: ['172.30.0.49'] }));
  const slices = base.endpointSlices
    .filter((s) => s.serviceName !== 'svc8')
    .map((s) => (s.serviceName === 'svc1' ? { ...s, endpoints: s.endpoints.slice(0, 1) } : s));
  slices.push(slice('ns6', 'svc6', [ep('10.180.0.6', { node: NODE })]));
  slices.push(slice('ns9', 'svc9', [ep('10.180.0.9'), ep('10.180.0.99')]));
  return planOf(cluster(services, slices));
}

describe.skipIf(!canUseKernel()).each(variants)('iptables-%s in a network namespace', (variant) => {
  const backend = createIptablesBackend({ variant });
  const pool = netnsPool();
  const fresh = pool.fresh;
  afterAll(pool.deleteAll);

  it('iptables-restore --test accepts the rendered rules', () => {
    const ns = fresh();
    inNetns(ns, [`iptables-${variant}-restore`, '--test'], renderText(planOf(mixCluster())));
    inNetns(ns, [`iptables-${variant}-restore`, '--test'], renderText(planOf(oneServiceCluster())));
  });

  it('apply → verify ok → readBack equals render → flush leaves no KUBE- chain', async () => {
    const ns = fresh();
    const plan = planOf(mixCluster());
    const result = await backend.apply(ns, plan);
    expect(result.size.count).toBeGreaterThan(50);
    expect(await backend.verify(ns, plan)).toEqual({ ok: true, differences: [] });
    expect(await backend.readBack(ns)).toBe(backend.renderText(plan));
    // Applying again over itself changes nothing.
    await backend.apply(ns, plan);
    expect(await backend.readBack(ns)).toBe(backend.renderText(plan));
    await backend.flush(ns);
    expect(fullSave(ns, variant)).not.toContain('KUBE-');
    await backend.flush(ns); // idempotent
  });

  it("keeps others' rules and chains through apply, sync and flush", async () => {
    const ns = fresh();
    inNetns(ns, [`iptables-${variant}-restore`], foreignRules());
    const before = fullSave(ns, variant);
    const a = planOf(mixCluster());
    await backend.apply(ns, a);
    const applied = fullSave(ns, variant);
    expect(foreignPart(applied)).toBe(before);
    // kpb's jumps come first in the built-in chains.
    expect(applied).toMatch(/-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n-A PREROUTING -m addrtype/);
    const b = planB();
    const s = await backend.sync(ns, a, b);
    expect(s.mode).toBe('incremental');
    expect(foreignPart(fullSave(ns, variant))).toBe(before);
    await backend.flush(ns);
    expect(fullSave(ns, variant)).toBe(before);
  });

  it('sync from A to B leaves exactly what a full apply of B gives', async () => {
    const ns = fresh();
    const a = planOf(mixCluster());
    const b = planB();
    await backend.apply(ns, a);
    const s = await backend.sync(ns, a, b);
    expect(s.mode).toBe('incremental');
    expect(s.changedServicePorts).toEqual(expect.arrayContaining(['ns1/svc1:p80', 'ns6/svc6:p80', 'ns8/svc8:p80', 'ns9/svc9:p80']));
    expect(s.changedServicePorts).not.toContain('ns2/svc2:p80');
    expect(await backend.readBack(ns)).toBe(backend.renderText(b));
    // and back, which deletes svc9's chains and svc1's added endpoint chain
    const back = await backend.sync(ns, b, a);
    expect(back.mode).toBe('incremental');
    expect(await backend.readBack(ns)).toBe(backend.renderText(a));
    // no change: nothing sent
    const none = await backend.sync(ns, a, a);
    expect(none).toMatchObject({ mode: 'incremental', changedServicePorts: [] });
    // without a previous plan: full
    expect(await backend.sync(ns, undefined, b)).toMatchObject({ mode: 'full', reason: 'no previous plan known' });
    expect(await backend.readBack(ns)).toBe(backend.renderText(b));
  });

  it('detects drift: verify lists the deleted rule, sync falls back to a full apply', async () => {
    const ns = fresh();
    const a = planOf(mixCluster());
    await backend.apply(ns, a);
    inNetns(ns, [`iptables-${variant}`, '-t', 'nat', '-D', 'KUBE-SERVICES', '1']);
    const v = await backend.verify(ns, a);
    expect(v.ok).toBe(false);
    expect(v.differences).toEqual([
      {
        kind: 'missing',
        object:
          'nat rule in KUBE-SERVICES: -A KUBE-SERVICES -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O',
      },
    ]);
    const b = planB();
    const s = await backend.sync(ns, a, b);
    expect(s.mode).toBe('full');
    expect(s.reason).toMatch(/^drift: .*missing nat rule in KUBE-SERVICES/);
    expect(await backend.verify(ns, b)).toEqual({ ok: true, differences: [] });
  });

  it('a failing restore leaves the ruleset byte-for-byte unchanged', async () => {
    const ns = fresh();
    inNetns(ns, [`iptables-${variant}-restore`], foreignRules());
    const a = planOf(mixCluster());
    await backend.apply(ns, a);
    const before = fullSave(ns, variant);
    // An address iptables rejects, only in nat (filter comes first in the input and is valid).
    const bad: Plan = {
      ...a,
      servicePorts: a.servicePorts.map((sp) =>
        sp.key === 'ns1/svc1:p80'
          ? { ...sp, endpoints: sp.endpoints.map((e) => ({ ...e, ip: '10.180.0.300', address: '10.180.0.300:80' })) }
          : sp,
      ),
    };
    await expect(backend.apply(ns, bad)).rejects.toThrow(/iptables-.*restore/);
    expect(fullSave(ns, variant)).toBe(before);
    const s = await backend.sync(ns, a, bad).catch((e: Error) => e);
    expect(s).toBeInstanceOf(Error);
    expect(fullSave(ns, variant)).toBe(before);
  });

  // KPB_BIG=10000 for the 10k run (iptables-nft-save makes verify slow there, see README).
  const big = Number(process.env.KPB_BIG ?? 1000);
  it(`${big} services × 3 endpoints: apply, verify, flush`, async () => {
    const ns = fresh();
    const plan = planOf(bigCluster(big, 3));
    const t0 = performance.now();
    const r = await backend.apply(ns, plan);
    const t1 = performance.now();
    const v = await backend.verify(ns, plan);
    const t2 = performance.now();
    expect(v.differences.slice(0, 5)).toEqual([]);
    expect(v.ok).toBe(true);
    await backend.flush(ns);
    const t3 = performance.now();
    expect(fullSave(ns, variant)).not.toContain('KUBE-');
    console.log(
      `${variant} ${big}×3: apply ${(t1 - t0).toFixed(0)} ms (render ${r.timings.render.toFixed(0)}, save+merge ${r.timings.other?.toFixed(0)}, restore ${r.timings.kernel.toFixed(0)}), verify ${(t2 - t1).toFixed(0)} ms, flush ${(t3 - t2).toFixed(0)} ms`,
    );
  }, 600_000);
});
