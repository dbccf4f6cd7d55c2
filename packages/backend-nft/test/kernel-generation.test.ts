/**
 * Generation trust on a real kernel, in throwaway network namespaces: a sync after kpb's own
 * commit reads nothing back, and a foreign writer that changes nf_tables right before kpb's
 * `nft -f` is caught: nothing is recorded as kpb's, the next sync is a full apply that says why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool } from '@kpb/backend';
import type { RunTool, StateStore } from '@kpb/backend';
import { compile } from '@kpb/compiler';
import { canUseKernel } from '@kpb/testing';
import { createNftBackend } from '../src/index.ts';
import { deleteNetns, edit, ep, makeNetns, nftIn, SETTINGS, slice, smallCluster, svc } from './fixtures.ts';

const base = smallCluster();
const A = compile(base, SETTINGS);
const B = compile(
  edit(base, {
    services: (s) => [...s, svc('ns4', 'new', '10.96.0.60')],
    slices: (s) => [...s, slice('ns4', 'new', [ep('10.1.2.60'), ep('10.1.1.60', 'node-a')])],
  }),
  SETTINGS,
);

describe.skipIf(!canUseKernel())('nft generation trust on a real kernel', () => {
  let ns: ReturnType<typeof makeNetns> | undefined;
  beforeAll(() => {
    ns = makeNetns();
  });
  afterAll(() => deleteNetns(ns));

  /** The real tools, counted; `beforeCommit` runs once right before the next `nft -f`. */
  function setup() {
    const files = new Map<string, string>();
    const state: StateStore = { read: (k) => files.get(k), write: (k, text) => void files.set(k, text) };
    const seen = { lists: 0, beforeCommit: undefined as (() => void) | undefined };
    const tools: RunTool = async (target, tool, args, options) => {
      if (args[0] === 'list') seen.lists++;
      if (args[0] === '-f' && seen.beforeCommit) {
        seen.beforeCommit();
        seen.beforeCommit = undefined;
      }
      return runTool(target, tool, args, options);
    };
    const backend = createNftBackend({ ports: { runTool: tools, state } });
    return { backend, seen, record: () => JSON.parse(files.get(`nft-${ns!.name}-ip.json`) ?? 'null') };
  }

  it('after kpb’s own commits, sync sends the change without reading the table back', async () => {
    const { backend, seen } = setup();
    await backend.apply(ns!, A);
    expect((await backend.sync(ns!, A, B)).mode).toBe('incremental');
    expect((await backend.sync(ns!, B, A)).mode).toBe('incremental');
    expect(seen.lists).toBe(0);
    expect(await backend.verify(ns!, A)).toEqual({ ok: true, differences: [] });
  });

  it('a foreign table added right before a full apply: nothing recorded, the next sync is full and says why', async () => {
    const { backend, seen, record } = setup();
    seen.beforeCommit = () => nftIn(ns!, ['add', 'table', 'ip', 'foreign']);
    await backend.apply(ns!, A);
    expect(record()).toEqual({ version: 2, forgotten: true });
    const r = await backend.sync(ns!, A, B);
    expect(r).toMatchObject({ mode: 'full', reason: "ruleset generation moved by 2 during kpb's commit, which makes 1 step (another writer)" });
    expect(record()).toMatchObject({ version: 2, family: 'ip', variant: 'flat' });
    nftIn(ns!, ['delete', 'table', 'ip', 'foreign']);
  });

  it('a rule slipped into kpb’s chain right before an incremental commit: the next sync is full and repairs it', async () => {
    const { backend, seen, record } = setup();
    await backend.apply(ns!, A);
    seen.beforeCommit = () => nftIn(ns!, ['add', 'rule', 'ip', 'kube-proxy', 'services', 'counter']);
    expect((await backend.sync(ns!, A, B)).mode).toBe('incremental');
    expect(record()).toEqual({ version: 2, forgotten: true });
    expect((await backend.verify(ns!, B)).ok).toBe(false);
    const r = await backend.sync(ns!, B, A);
    expect(r).toMatchObject({ mode: 'full', reason: expect.stringMatching(/^ruleset generation moved by 2 during kpb's commit/) });
    expect(await backend.verify(ns!, A)).toEqual({ ok: true, differences: [] });
  });
});
