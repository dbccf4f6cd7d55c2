/**
 * Dual-stack on a real kernel, for both nf_tables backends: both families' tables go in ONE
 * transaction (an `nft -f` script, a netlink batch), so a failure in the ip6 half leaves the
 * ip table as it was too. Each test works in namespaces it creates and deletes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from '@kpb/backend';
import type { Backend, RunTool } from '@kpb/backend';
import { createNftBackend } from '@kpb/backend-nft';
import { compileFamilies, nodeSettings } from '@kpb/compiler';
import type { Plan } from '@kpb/compiler';
import { GENERATED_CLUSTER_CIDR, GENERATED_CLUSTER_CIDR_V6, GENERATED_LOCAL_NODE, generateCluster } from '@kpb/model';
import { canUseKernel } from '@kpb/testing';
import { createNftnlBackend } from '../src/index.ts';
import { deleteNetns, listRulesetText, makeNetns, nftIn, structure } from './helpers.ts';
import type { NsTarget } from './helpers.ts';

const SETTINGS = nodeSettings({ nodeName: GENERATED_LOCAL_NODE, nodePortAddresses: ['0.0.0.0/0', '::/0'] });
const CIDRS = [GENERATED_CLUSTER_CIDR, GENERATED_CLUSTER_CIDR_V6];
const dualPlans = (seed: number): Plan[] =>
  compileFamilies(generateCluster({ services: 300, endpointsPerService: 3, seed, families: 'dual' }), SETTINGS, ['IPv4', 'IPv6'], CIDRS);

/** `nft` whose scripts that write the ip6 table get one bad rule in it, after everything else: the ip6 half fails. */
const ip6Broken: RunTool = (target, tool, args, options) =>
  runTool(target, tool, args, options?.input?.includes('add table ip6 ') ? { ...options, input: `${options.input}add rule ip6 kube-proxy nat-output jump no-such-chain\n` } : options);

interface Case {
  readonly name: string;
  readonly good: (stateDir: string) => Backend;
  readonly broken: (stateDir: string) => Backend;
}

const CASES: readonly Case[] = [
  { name: 'nft', good: (stateDir) => createNftBackend({ stateDir }), broken: (stateDir) => createNftBackend({ stateDir, ports: { runTool: ip6Broken } }) },
  {
    name: 'nftnl',
    good: (stateDir) => createNftnlBackend({ stateDir }),
    // Every service chain of the ip6 table gets one more rule jumping to a chain that does not exist.
    broken: (stateDir) =>
      createNftnlBackend({
        stateDir,
        testHooks: {
          extraRules: (chain, family) =>
            family === 'ip6' && chain.startsWith('service-') ? [{ statements: [{ kind: 'verdict', verdict: { kind: 'jump', chain: 'no-such-chain' } }] }] : undefined,
        },
      }),
  },
];

describe.skipIf(!canUseKernel())('dual-stack apply on a real kernel', () => {
  const made: NsTarget[] = [];
  const ns = (): NsTarget => {
    const t = makeNetns();
    made.push(t);
    return t;
  };
  let stateDir = '';
  let A: Plan[];
  let B: Plan[];
  beforeAll(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'kpb-dual-state-'));
    A = dualPlans(1);
    B = dualPlans(2);
  });
  afterAll(() => {
    for (const t of made.splice(0)) deleteNetns(t);
    rmSync(stateDir, { recursive: true, force: true });
  });

  for (const layout of ['flat', 'maps'] as const) {
    it(`layout ${layout}: nft -f and the addon print the same \`nft list ruleset\` for a dual-stack cluster`, async () => {
      const viaNft = ns();
      const viaNftnl = ns();
      await createNftBackend({ layout, stateDir }).apply(viaNft, A);
      const nftnl = createNftnlBackend({ layout, stateDir });
      await nftnl.apply(viaNftnl, A);
      const text = listRulesetText(viaNft);
      expect(text).toContain('table ip6 kube-proxy');
      expect(listRulesetText(viaNftnl)).toBe(text);
      // Every object, expression attribute and userdata byte, in both families.
      for (const family of ['ip', 'ip6'] as const) expect(await structure(viaNftnl, family)).toEqual(await structure(viaNft, family));
      expect((await nftnl.verify(viaNftnl, A)).differences).toEqual([]);
      expect(await nftnl.readBack(viaNftnl)).toBe(await createNftBackend({ layout }).readBack(viaNft));
    }, 180_000);
  }

  for (const c of CASES) {
    it(`${c.name}: a failure in the ip6 half leaves the ip table unchanged too (one transaction)`, async () => {
      const t = ns();
      const good = c.good(stateDir);
      await good.apply(t, A);
      expect((await good.verify(t, A)).ok).toBe(true);
      const before = listRulesetText(t);
      expect(before).toContain('table ip kube-proxy');
      expect(before).toContain('table ip6 kube-proxy');
      await expect(c.broken(stateDir).apply(t, B)).rejects.toThrow(/no-such-chain|No such file or directory/);
      expect(listRulesetText(t)).toBe(before);
      // From an empty namespace: nothing of either family arrives.
      const empty = ns();
      await expect(c.broken(stateDir).apply(empty, B)).rejects.toThrow();
      expect(nftIn(empty, ['list', 'tables'])).toBe('');
    }, 120_000);

    it(`${c.name}: dual-stack sync sends each family's change, and a family --to lacks is removed`, async () => {
      const t = ns();
      const backend = c.good(stateDir);
      await backend.apply(t, A);
      const r = await backend.sync(t, A, B);
      expect(r.mode).toBe('incremental');
      expect(r.families?.map((f) => f.family)).toEqual(['IPv4', 'IPv6']);
      const v = await backend.verify(t, B);
      expect(v.differences).toEqual([]);
      const single = await backend.sync(t, B, [B[0]!]);
      expect(single.reason).toContain('IPv6: removed');
      expect(nftIn(t, ['list', 'tables'])).toBe('table ip kube-proxy\n');
      expect((await backend.verify(t, [B[0]!])).ok).toBe(true);
      await backend.flush(t);
      expect(listRulesetText(t)).toBe('');
    }, 120_000);
  }
});
