/**
 * iptables-nft's generation trust on a real kernel, in throwaway network namespaces: a sync
 * after kpb's own commits reads nothing back, and a foreign writer that changes nf_tables right
 * before kpb's iptables-nft-restore is caught: nothing is recorded as kpb's, the next sync is a
 * full apply that says why.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runTool } from '@kpb/backend';
import type { RunTool, StateStore, Target } from '@kpb/backend';
import { canUseKernel } from '@kpb/testing';
import { createIptablesBackend, createNoflushBackend } from '../src/index.ts';
import { mixCluster, planOf, svc } from './fixtures.ts';
import { inNetns, netnsPool } from './netns.ts';

const A = planOf(mixCluster());
const B = planOf({ ...mixCluster(), services: [...mixCluster().services, svc('ns9', 'svc9', { clusterIPs: ['172.30.0.49'] })] });

describe.skipIf(!canUseKernel())('iptables-nft generation trust in a network namespace', () => {
  const pool = netnsPool();
  afterAll(pool.deleteAll);

  /** The real tools, with full saves counted; `beforeCommit` runs once right before the next restore. */
  function setup() {
    const ns = pool.fresh();
    const files = new Map<string, string>();
    const state: StateStore = { read: (k) => files.get(k), write: (k, text) => void files.set(k, text) };
    const seen = { readBacks: 0, beforeCommit: undefined as (() => void) | undefined };
    const tools: RunTool = async (target: Target, tool, args, options) => {
      if (tool === 'iptables-nft-save' && args.length === 0) seen.readBacks++;
      if (tool === 'iptables-nft-restore' && seen.beforeCommit) {
        seen.beforeCommit();
        seen.beforeCommit = undefined;
      }
      return runTool(target, tool, args, options);
    };
    const options = { variant: 'nft' as const, ports: { runTool: tools, state } };
    return { ns, seen, options, backend: createIptablesBackend(options), record: () => JSON.parse(files.get(`iptables-nft-${ns.name}-ip.json`) ?? 'null') };
  }

  it('after kpb’s own commits (full apply, --noflush apply, partial syncs), sync reads nothing back', async () => {
    const { ns, seen, options, backend } = setup();
    await backend.apply(ns, A);
    expect((await backend.sync(ns, A, B)).mode).toBe('incremental');
    const noflush = createNoflushBackend(options);
    await noflush.apply(ns, A);
    expect((await noflush.sync(ns, A, B)).mode).toBe('incremental');
    expect(seen.readBacks).toBe(0);
    expect(await backend.verify(ns, B)).toEqual({ ok: true, differences: [] });
  });

  it('a foreign table added right before a full apply: nothing recorded, the next sync is full and says why', async () => {
    const { ns, seen, backend, record } = setup();
    seen.beforeCommit = () => inNetns(ns, ['nft', 'add', 'table', 'ip', 'foreign']);
    await backend.apply(ns, A);
    expect(record()).toEqual({ version: 2, forgotten: true });
    const r = await backend.sync(ns, A, B);
    expect(r).toMatchObject({ mode: 'full', reason: "ruleset generation moved by 3 during kpb's commit, which makes 2 steps (another writer)" });
    expect(record()).toMatchObject({ version: 2, family: 'ip', variant: 'nft' });
  });

  it('a rule slipped into kpb’s chain right before a partial sync: the next sync is full and repairs it', async () => {
    const { ns, seen, backend, record } = setup();
    await backend.apply(ns, A);
    seen.beforeCommit = () => inNetns(ns, ['iptables-nft', '-t', 'nat', '-A', 'KUBE-SERVICES', '-s', '192.0.2.1/32', '-j', 'RETURN']);
    expect((await backend.sync(ns, A, B)).mode).toBe('incremental');
    expect(record()).toEqual({ version: 2, forgotten: true });
    const r = await backend.sync(ns, B, A);
    expect(r).toMatchObject({ mode: 'full', reason: expect.stringMatching(/^ruleset generation moved by 3 during kpb's commit/) });
    expect(await backend.verify(ns, A)).toEqual({ ok: true, differences: [] });
  });
});
