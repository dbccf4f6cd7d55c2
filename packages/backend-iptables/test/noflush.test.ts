/**
 * kube-proxy's --noflush apply path in a real network namespace: it must leave exactly what the
 * normal full apply leaves, over an empty namespace, over its own rules, and after services go.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { canUseKernel } from '@kpb/testing';
import type { Plan } from '@kpb/compiler';
import { createIptablesBackend, createNoflushBackend } from '../src/index.ts';
import { cluster, ep, mixCluster, planOf, slice, svc } from './fixtures.ts';
import { fullSave, netnsPool } from './netns.ts';

/** The mix without svc1 and with a new svc9: svc1's chains become stale. */
function planWithout1(): Plan {
  const base = mixCluster();
  const services = base.services.filter((s) => s.name !== 'svc1');
  services.push(svc('ns9', 'svc9', { clusterIPs: ['172.30.0.49'] }));
  const slices = base.endpointSlices.filter((s) => s.serviceName !== 'svc1');
  slices.push(slice('ns9', 'svc9', [ep('10.180.0.9'), ep('10.180.0.99')]));
  return planOf(cluster(services, slices));
}

const chainsOf = (save: string): string[] => save.split('\n').filter((l) => l.startsWith(':KUBE-')).map((l) => l.slice(1).split(' ')[0]!).sort();

describe.skipIf(!canUseKernel())('iptables --noflush apply (kube-proxy’s way) in a network namespace', () => {
  const normal = createIptablesBackend({ variant: 'nft' });
  const noflush = createNoflushBackend({ variant: 'nft' });
  const pool = netnsPool();
  const fresh = pool.fresh;
  afterAll(pool.deleteAll);

  it('is selectable as the iptables backend with variant noflush', () => {
    expect(noflush).toMatchObject({ name: 'iptables', variant: 'noflush' });
    const text = noflush.renderText(planOf(mixCluster()));
    expect(text).not.toMatch(/^-A (PREROUTING|OUTPUT|POSTROUTING|INPUT|FORWARD) /m);
    expect(text).toMatch(/^:KUBE-SERVICES - \[0:0\]$/m);
  });

  it('apply into a fresh namespace reads back as the normal apply does', async () => {
    const plan = planOf(mixCluster());
    const a = fresh();
    const b = fresh();
    await normal.apply(a, plan);
    await noflush.apply(b, plan);
    expect(await noflush.readBack(b)).toBe(await normal.readBack(a));
    expect(await noflush.verify(b, plan)).toEqual({ ok: true, differences: [] });
    expect(fullSave(b, 'nft')).toBe(fullSave(a, 'nft'));
  });

  it('re-applies over its own rules without duplicating the jumps, and deletes stale chains', async () => {
    const ns = fresh();
    const a = planOf(mixCluster());
    await noflush.apply(ns, a);
    await noflush.apply(ns, a);
    expect(await noflush.readBack(ns)).toBe(normal.renderText(a));
    const before = chainsOf(fullSave(ns, 'nft'));
    const b = planWithout1();
    await noflush.apply(ns, b);
    expect(await noflush.readBack(ns)).toBe(normal.renderText(b));
    const after = chainsOf(fullSave(ns, 'nft'));
    const stale = before.filter((c) => !after.includes(c));
    expect(stale.length).toBeGreaterThan(0);
    expect(after).toEqual(chainsOf(normal.renderText(b)));
    await noflush.flush(ns);
    expect(fullSave(ns, 'nft')).not.toContain('KUBE-');
  });

  it('turning localhost NodePorts off removes KUBE-FIREWALL and the jumps it ensured into it, and on again appends them', async () => {
    const ns = fresh();
    await noflush.apply(ns, planOf(mixCluster()));
    expect(fullSave(ns, 'nft')).toContain('-A INPUT -j KUBE-FIREWALL');
    const off = planOf(mixCluster(), { localhostNodePorts: false });
    await noflush.apply(ns, off);
    expect(await noflush.readBack(ns)).toBe(normal.renderText(off));
    expect(fullSave(ns, 'nft')).not.toContain('KUBE-FIREWALL');
    // Back on: the jumps into KUBE-FIREWALL come after kpb's others again, as a full apply has them.
    await noflush.apply(ns, planOf(mixCluster()));
    expect(await noflush.verify(ns, planOf(mixCluster()))).toEqual({ ok: true, differences: [] });
  });
});

