/**
 * iptables-nft's generation trust through its ports (no root): a fake iptables whose every
 * restore moves a fake ruleset generation by one per table (as iptables-nft-restore does), plus
 * `foreign` steps of another writer; legacy never asks for a generation.
 */
import { describe, expect, it } from 'vitest';
import { ToolError } from '@kpb/backend';
import type { RunTool, StateStore, Target, ToolResult } from '@kpb/backend';
import { compile, nodeSettings } from '@kpb/compiler';
import { generateCluster } from '@kpb/model';
import { createIptablesBackend, createNoflushBackend } from '../src/index.ts';
import type { IptablesVariant } from '../src/index.ts';
import { filterRestoreInput } from '../src/sync.ts';

const target: Target = { kind: 'netns', name: 'kpb-fake-gen' };
const settings = nodeSettings({ nodeName: 'node-1', clusterCIDR: '10.244.0.0/16' });
const cluster = generateCluster({ services: 40, endpointsPerService: 3, seed: 2 });
const A = compile(cluster, settings);
const B = compile({ ...cluster, services: cluster.services.slice(2) }, settings);

function setup(variant: IptablesVariant = 'nft') {
  const files = new Map<string, string>();
  const state: StateStore = { read: (k) => files.get(k), write: (k, text) => void files.set(k, text) };
  const kernel = { generation: 40, /** another writer's commits during the next restore */ foreign: 0, save: '', generationReads: 0, /** --noflush restores to fail */ failNoflush: 0 };
  const calls: string[] = [];
  const inputs: string[] = [];
  const ok = (stdout = ''): ToolResult => ({ code: 0, stdout, stderr: '' });
  const runTool: RunTool = async (_t, tool, args, options = {}) => {
    const shown = [tool, ...args].join(' ');
    calls.push(shown);
    if (tool.endsWith('-save')) return ok(kernel.save);
    if (tool.endsWith('-restore')) {
      const input = options.input ?? '';
      inputs.push(input);
      if (args.includes('--noflush') && kernel.failNoflush > 0) {
        kernel.failNoflush--;
        throw new ToolError(shown, { code: 1, stdout: '', stderr: 'iptables-restore: line 9 failed' });
      }
      kernel.generation += (input.match(/^\*/gm)?.length ?? 0) + kernel.foreign;
      kernel.foreign = 0;
      if (!args.includes('--noflush')) kernel.save = input;
      return ok();
    }
    if (shown === 'nft list chains ip') return ok('');
    if (args.includes('-C')) return { code: 1, stdout: '', stderr: '' }; // noflush: no jump yet
    if (args.includes('-I') || args.includes('-A')) {
      kernel.generation++;
      return ok();
    }
    throw new Error(`fake iptables: unexpected ${shown}`);
  };
  const generation = async () => {
    kernel.generationReads++;
    return kernel.generation;
  };
  const options = { variant, ports: { runTool, clock: () => 0, generation, state } };
  return { kernel, calls, inputs, files, options, backend: createIptablesBackend(options) };
}

/** The read-back of a sync: a full iptables-save (the filter-only save is the rollback copy). */
const readBacks = (calls: readonly string[]) => calls.filter((c) => /^iptables-\w+-save$/.test(c)).length;

describe('iptables-nft sync trusts the ruleset generation', () => {
  it('after kpb’s own commits (+2 each): no read-back, only the change is sent', async () => {
    const { calls, backend } = setup();
    await backend.apply(target, A);
    const r = await backend.sync(target, A, B);
    expect(r.mode).toBe('incremental');
    expect(r.reason).toBeUndefined();
    expect((await backend.sync(target, B, A)).mode).toBe('incremental');
    expect(readBacks(calls)).toBe(0);
    expect(calls.filter((c) => c.endsWith('--noflush'))).toHaveLength(2);
  });

  it('trusting its records, a partial sync saves nothing for rollback; when nat fails, kpb’s filter chains are put back from --from', async () => {
    const { kernel, calls, inputs, backend } = setup();
    await backend.apply(target, A);
    const applied = { calls: calls.length, inputs: inputs.length };
    expect((await backend.sync(target, A, B)).mode).toBe('incremental');
    expect(calls.slice(applied.calls)).toEqual(['iptables-nft-restore -w --noflush']);
    const synced = { calls: calls.length, inputs: inputs.length };
    kernel.failNoflush = 1;
    const r = await backend.sync(target, B, A);
    expect(r).toMatchObject({ mode: 'full', reason: expect.stringMatching(/^incremental update failed, full apply instead: .*line 9 failed/) });
    expect(calls.slice(synced.calls, synced.calls + 2)).toEqual(['iptables-nft-restore -w --noflush', 'iptables-nft-restore -w --noflush']);
    // The same filter chains the A → B sync wrote, nothing of nat.
    const toB = inputs[synced.inputs - 1]!;
    expect(inputs[synced.inputs + 1]).toBe(toB.slice(0, toB.indexOf('*nat')));
    expect(inputs[synced.inputs + 1]).toBe(filterRestoreInput(B));
    expect(inputs[synced.inputs + 1]).toContain('-A KUBE-SERVICES ');
  });

  it('the generation moved since kpb’s commit: kpb’s part is read back, and the reason says why', async () => {
    const { kernel, calls, backend } = setup();
    await backend.apply(target, A);
    kernel.generation += 1;
    const r = await backend.sync(target, A, B);
    expect(r).toMatchObject({ mode: 'incremental', reason: 'kernel read back and found to hold --from (ruleset generation 43, recorded 42)' });
    expect(readBacks(calls)).toBe(1);
    // That sync's commit is bound to the generation its check saw: the next sync trusts again.
    expect((await backend.sync(target, B, A)).mode).toBe('incremental');
    expect(readBacks(calls)).toBe(1);
  });

  for (const [what, commit] of [
    ['a full apply', (b: ReturnType<typeof setup>['backend']) => b.apply(target, A)],
    ['a partial sync', (b: ReturnType<typeof setup>['backend']) => b.sync(target, B, A)],
  ] as const) {
    it(`another writer commits during ${what}: nothing is recorded, the next sync is full and says why`, async () => {
      const { kernel, calls, files, backend } = setup();
      await backend.apply(target, B);
      kernel.foreign = 1;
      await commit(backend);
      expect(JSON.parse(files.get('iptables-nft-kpb-fake-gen-ip.json')!)).toEqual({ version: 2, forgotten: true });
      const r = await backend.sync(target, A, B);
      expect(r).toMatchObject({ mode: 'full', reason: "ruleset generation moved by 3 during kpb's commit, which makes 2 steps (another writer)" });
      expect(readBacks(calls)).toBe(0);
      expect((await backend.sync(target, B, A)).mode).toBe('incremental');
    });
  }

  it('the --noflush apply is recorded for the sync (restore +2, one more per inserted jump)', async () => {
    const { calls, options } = setup();
    const noflush = createNoflushBackend(options);
    await noflush.apply(target, A);
    expect(calls.filter((c) => c.includes(' -I ')).length).toBeGreaterThan(0);
    expect((await noflush.sync(target, A, B)).mode).toBe('incremental');
    expect(readBacks(calls)).toBe(0);
  });

  it('legacy: no generation is read, every sync reads back', async () => {
    const { kernel, calls, backend } = setup('legacy');
    await backend.apply(target, A);
    expect((await backend.sync(target, A, B)).mode).toBe('incremental');
    expect(readBacks(calls)).toBe(2); // the apply's save of others' rules, then the sync's read-back
    expect(kernel.generationReads).toBe(0);
  });
});
