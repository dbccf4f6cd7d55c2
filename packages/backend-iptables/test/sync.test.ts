/**
 * The iptables backend's sync decisions and rollbacks through its tool-runner port (no root):
 * a fake iptables-save prints a given kernel, a fake iptables-restore records its input and
 * fails when told to.
 */
import { describe, expect, it } from 'vitest';
import { NO_PREVIOUS_PLAN, SETTINGS_CHANGED, ToolError } from '@kpb/backend';
import type { RunTool, Target, ToolResult } from '@kpb/backend';
import { compile, diffPlans, nodeSettings } from '@kpb/compiler';
import { generateCluster } from '@kpb/model';
import { createIptablesBackend, mergedRestoreInput, ownedText, parseSave, renderRuleset, rulesetText, snapshotRestoreInput } from '../src/index.ts';
import type { IptablesVariant } from '../src/index.ts';

const target: Target = { kind: 'netns', name: 'kpb-fake-1' };
const settings = nodeSettings({ nodeName: 'node-1', clusterCIDR: '10.244.0.0/16' });
const cluster = generateCluster({ services: 60, endpointsPerService: 3, seed: 1 });
const A = compile(cluster, settings);
const B = compile({ ...cluster, services: cluster.services.slice(3) }, settings);

/** Somebody else's rules, which every restore must keep. */
const FOREIGN = [
  '*filter',
  ':INPUT ACCEPT [0:0]',
  ':FORWARD ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  '-A INPUT -s 203.0.113.1/32 -j DROP',
  'COMMIT',
  '*nat',
  ':PREROUTING ACCEPT [0:0]',
  ':INPUT ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':POSTROUTING ACCEPT [0:0]',
  '-A POSTROUTING -s 10.9.0.0/16 -j MASQUERADE',
  'COMMIT',
  '',
].join('\n');

/** The kernel after a full apply of `plan` over FOREIGN, as iptables-save prints it. */
const kernelHolding = (plan: typeof A) => mergedRestoreInput(parseSave(FOREIGN), renderRuleset(plan)).text;

function tableOf(save: string, table: string): string {
  const start = save.indexOf(`*${table}\n`);
  return start < 0 ? '' : save.slice(start, save.indexOf('COMMIT\n', start) + 'COMMIT\n'.length);
}

function fakeIptables(variant: IptablesVariant, kernel: string) {
  const ok = (stdout = ''): ToolResult => ({ code: 0, stdout, stderr: '' });
  const fake = {
    calls: [] as string[],
    inputs: [] as string[],
    /** Return a message to make this restore fail. */
    fail: undefined as ((input: string, args: readonly string[]) => string | undefined) | undefined,
    runTool: (async (_t, tool, args, options = {}) => {
      const shown = [tool, ...args].join(' ');
      fake.calls.push(shown);
      if (tool === `iptables-${variant}-save`) return ok(args[0] === '-t' ? tableOf(kernel, args[1]!) : kernel);
      if (tool === 'nft' && shown === 'nft list chains ip') return ok(''); // iptables-nft's foreign chains: none listed
      if (tool === `iptables-${variant}-restore`) {
        const input = options.input ?? '';
        fake.inputs.push(input);
        const why = fake.fail?.(input, args);
        if (why) throw new ToolError(shown, { code: 1, stdout: '', stderr: why });
        return ok();
      }
      throw new Error(`fake iptables: unexpected ${shown}`);
    }) as RunTool,
  };
  return fake;
}

for (const variant of ['nft', 'legacy'] as const) {
  describe(`iptables-${variant} through a fake iptables`, () => {
    const save = `iptables-${variant}-save`;
    const restore = `iptables-${variant}-restore`;
    /** What a full apply runs: the save that finds others' rules (and, for nft, the filter save for rollback), then the restore. */
    const fullApplyCalls = variant === 'nft' ? ['nft list chains ip', `${save} -t filter`, `${restore} -w`] : [save, `${restore} -w`];
    const setup = (kernel: string) => {
      const fake = fakeIptables(variant, kernel);
      return { fake, backend: createIptablesBackend({ variant, ports: { runTool: fake.runTool, clock: () => 0 } }) };
    };

    it('the fake kernel holds what a full apply wrote', () => {
      expect(ownedText(parseSave(kernelHolding(A)))).toBe(rulesetText(renderRuleset(A)));
    });

    it('no previous plan: full apply, others’ rules kept', async () => {
      const { fake, backend } = setup(kernelHolding(A));
      expect(await backend.sync(target, undefined, B)).toMatchObject({ mode: 'full', reason: NO_PREVIOUS_PLAN });
      expect(fake.calls).toEqual(fullApplyCalls);
      if (variant === 'legacy') expect(fake.inputs[0]).toContain('-A INPUT -s 203.0.113.1/32 -j DROP');
    });

    it('settings changed: full apply without reading the kernel back', async () => {
      const { fake, backend } = setup(kernelHolding(A));
      const r = await backend.sync(target, compile(cluster, nodeSettings({ nodeName: 'node-1', masqueradeAll: true })), B);
      expect(r).toMatchObject({ mode: 'full', reason: SETTINGS_CHANGED });
      expect(fake.calls).toEqual(fullApplyCalls);
    });

    it('large-cluster mode changed: full apply without reading the kernel back', async () => {
      const big = compile(generateCluster({ services: 400, endpointsPerService: 3, seed: 1 }), settings);
      expect(big.endpointCount).toBeGreaterThan(1000);
      const { fake, backend } = setup(kernelHolding(A));
      expect(await backend.sync(target, A, big)).toMatchObject({ mode: 'full', reason: 'large-cluster mode (endpoint comments) changed' });
      expect(fake.calls).toEqual(fullApplyCalls);
    });

    it('drift: full apply, the reason names the first difference', async () => {
      const { fake, backend } = setup(FOREIGN);
      const r = await backend.sync(target, A, B);
      expect(r.mode).toBe('full');
      expect(r.reason).toMatch(/^drift: the kernel does not hold the previous plan \(\d+ difference\(s\), first: missing filter chain KUBE-EXTERNAL-SERVICES\)$/);
      expect(fake.calls).toEqual([save, ...fullApplyCalls]);
    });

    it('the kernel holds --from: a --noflush restore of the changed chains', async () => {
      const { fake, backend } = setup(kernelHolding(A));
      const r = await backend.sync(target, A, B);
      expect(r.mode).toBe('incremental');
      expect(r.changedServicePorts).toEqual(diffPlans(A, B).removed);
      expect(fake.calls).toEqual([save, `${save} -t filter`, `${restore} -w --noflush`]);
      expect(fake.inputs[0]).toMatch(/^\*filter\n/);
      expect(fake.inputs[0]).toContain('\n-X KUBE-SVC-');
    });

    it('the --noflush restore fails after filter committed: filter is put back, then a full apply', async () => {
      const { fake, backend } = setup(kernelHolding(A));
      fake.fail = (_input, args) => (args.includes('--noflush') ? 'iptables-restore: line 40 failed' : undefined);
      const r = await backend.sync(target, A, B);
      expect(r.mode).toBe('full');
      expect(r.reason).toMatch(/^incremental update failed, full apply instead: .*line 40 failed/);
      expect(fake.calls).toEqual([save, `${save} -t filter`, `${restore} -w --noflush`, `${restore} -w`, ...fullApplyCalls]);
      expect(fake.inputs[1]).toBe(tableOf(kernelHolding(A), 'filter'));
    });

    it('a full apply whose nat table fails: the saved tables are restored and the error is thrown', async () => {
      const kernel = kernelHolding(A);
      const { fake, backend } = setup(kernel);
      fake.fail = (input) => (input.includes('KUBE-SVC-') ? 'iptables-restore: line 900 failed (nat)' : undefined);
      await expect(backend.apply(target, B)).rejects.toThrow(/line 900 failed/);
      expect(fake.calls).toEqual([...fullApplyCalls, `${restore} -w`]);
      // nft: the filter table saved just before; legacy: everything from the full save.
      expect(fake.inputs[1]).toBe(variant === 'nft' ? tableOf(kernel, 'filter') : snapshotRestoreInput(parseSave(kernel)));
      expect(fake.inputs[1]).toContain('-A INPUT -s 203.0.113.1/32 -j DROP');
    });
  });
}
