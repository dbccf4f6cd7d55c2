import { describe, expect, it } from 'vitest';
import { compile, nodeSettings, type Plan } from '@kpb/compiler';
import { generateCluster } from '@kpb/model';
import { familyPlans, syncFamilies, traceFamilies, verifyFamilies } from '../src/index.ts';
import type { SyncResult } from '../src/index.ts';

const cluster = generateCluster({ services: 4, endpointsPerService: 1, seed: 1, families: 'dual' });
const settings = nodeSettings({ nodeName: 'node-0' });
const v4 = compile(cluster, settings, 'IPv4');
const v6 = compile(cluster, settings, 'IPv6');

const synced = (plan: Plan, mode: SyncResult['mode'] = 'incremental'): SyncResult => ({
  mode,
  ...(mode === 'full' ? { reason: 'drift' } : {}),
  timings: { render: 1, kernel: 2, other: 3 },
  size: { unit: 'lines', count: 10 },
  changedServicePorts: [plan.servicePorts[0]!.key],
});

describe('families', () => {
  it('orders plans IPv4 first and refuses a family twice or none', () => {
    expect(familyPlans([v6, v4]).map((p) => p.family)).toEqual(['IPv4', 'IPv6']);
    expect(familyPlans(v6)).toEqual([v6]);
    expect(() => familyPlans([v4, v4])).toThrow('two plans for IPv4');
    expect(() => familyPlans([])).toThrow('at least one IP family');
  });

  it('syncs each family of --to, removes a family only --from has, and is incremental only when every family was', async () => {
    const flushed: string[][] = [];
    const flush = async (families: readonly string[]) => void flushed.push([...families]);
    const both = await syncFamilies([v4, v6], [v4, v6], async (_f, t) => synced(t), flush);
    expect(both.mode).toBe('incremental');
    expect(both.size.count).toBe(20);
    expect(both.families?.map((f) => f.family)).toEqual(['IPv4', 'IPv6']);
    expect(both.changedServicePorts[0]).toMatch(/^IPv4 /);
    const oneFull = await syncFamilies([v4, v6], [v4, v6], async (_f, t) => synced(t, t.family === 'IPv6' ? 'full' : 'incremental'), flush);
    expect(oneFull.mode).toBe('full');
    expect(oneFull.reason).toBe('IPv6: drift');
    const dropped = await syncFamilies([v4, v6], v4, async (_f, t) => synced(t), flush);
    expect(flushed).toEqual([['IPv6']]);
    expect(dropped.mode).toBe('full');
    expect(dropped.reason).toBe('IPv6: removed (not in --to)');
    const seen: (Plan | undefined)[] = [];
    await syncFamilies(v4, [v4, v6], async (f, t) => (seen.push(f), synced(t)), flush);
    expect(seen).toEqual([v4, undefined]);
  });

  it('names the family of every difference and traces a packet through its family only', async () => {
    const r = await verifyFamilies([v4, v6], async (p) => ({ ok: p.family === 'IPv4', differences: p.family === 'IPv4' ? [] : [{ kind: 'missing', object: 'x' }] }));
    expect(r).toEqual({ ok: false, differences: [{ kind: 'missing', object: 'x', family: 'IPv6' }] });
    const packet = { src: 'fd00::1', dst: v6.servicePorts[0]!.clusterIP, dport: 80, protocol: 'TCP' as const, origin: 'forward' as const };
    expect(traceFamilies([v4, v6], packet, (p) => ({ verdict: { kind: 'dropped' }, path: [p.family] })).path).toEqual(['IPv6']);
    expect(traceFamilies(v4, packet, () => ({ verdict: { kind: 'dropped' }, path: [] })).verdict.kind).toBe('untouched');
  });
});
