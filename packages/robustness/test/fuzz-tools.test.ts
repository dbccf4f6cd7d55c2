/**
 * Every ACCEPTED fuzzed input renders, for every backend, to text the real tool accepts:
 * `iptables-nft-restore --test`, `iptables-legacy-restore --test`, `nft -c -f -`, in a
 * throwaway namespace. Inputs are checked in groups (one tool run per group); a failing group
 * is re-run input by input to name the culprit.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCluster } from '@kpb/model';
import { compile, nodeSettings, type Plan } from '@kpb/compiler';
import { canUseKernel } from '@kpb/testing';
import {
  BACKEND_CASES, baseDocuments, dropNamespace, fuzzRuns, fuzzSeed, makeNamespace, mutatedInput, randomInput, scaled,
  type BackendCase, type FuzzInput, type NsTarget,
} from '../src/index.ts';
import { execIn } from '@kpb/testing';

const WANT = scaled(120, 2500);
const GROUP = 10;

function acceptedPlans(): { how: string; plan: Plan }[] {
  const out: { how: string; plan: Plan }[] = [];
  const bases = baseDocuments();
  const samples: FuzzInput[] = [
    ...fc.sample(randomInput, { seed: fuzzSeed(11), numRuns: fuzzRuns(400) }),
    ...fc.sample(mutatedInput(bases), { seed: fuzzSeed(12), numRuns: fuzzRuns(400) }),
  ];
  for (const s of samples) {
    try {
      const { cluster } = parseCluster(s.text);
      const plan = compile(cluster, nodeSettings({ nodeName: cluster.nodes[0]?.name ?? 'node-0', clusterCIDR: '10.128.0.0/9' }));
      if (plan.servicePorts.length > 0) out.push({ how: s.how, plan });
    } catch {
      /* rejected inputs are the model test's business */
    }
    if (out.length >= WANT) break;
  }
  return out;
}

function toolFor(bc: BackendCase): string[] {
  if (bc.kind === 'iptables-nft') return ['iptables-nft-restore', '--test'];
  if (bc.kind === 'iptables-legacy') return ['iptables-legacy-restore', '--test'];
  return ['nft', '-c', '-f', '-'];
}

describe.skipIf(!canUseKernel())('fuzzed, accepted inputs: the real tools accept every backend\'s text', () => {
  let ns: NsTarget | undefined;
  const plans = acceptedPlans();
  let checked = 0;

  beforeAll(async () => {
    ns = await makeNamespace();
  });
  afterAll(async () => {
    await dropNamespace(ns);
    console.log(`[robustness] tool check: ${plans.length} accepted fuzzed inputs × ${BACKEND_CASES.filter((c) => !c.unavailable).length} backends, ${checked} renderings accepted by the tools`);
  });

  it('found enough accepted inputs', () => {
    expect(plans.length).toBeGreaterThanOrEqual(Math.min(WANT, 20));
  });

  for (const bc of BACKEND_CASES) {
    it.skipIf(bc.unavailable !== undefined)(`${bc.id}${bc.unavailable ? ` (skipped: ${bc.unavailable})` : ''}`, async () => {
      const backend = bc.make();
      const argv = toolFor(bc);
      for (let i = 0; i < plans.length; i += GROUP) {
        const group = plans.slice(i, i + GROUP);
        const texts = group.map((p) => backend.renderText(p.plan));
        const r = await execIn(ns!.name, argv, { input: texts.join(''), allowFailure: true, timeoutMs: 120_000 });
        if (r.code !== 0) {
          for (let j = 0; j < group.length; j++) {
            const one = await execIn(ns!.name, argv, { input: texts[j]!, allowFailure: true, timeoutMs: 60_000 });
            expect(one.code, `${argv.join(' ')} rejected ${bc.id} text of ${group[j]!.how}: ${one.stderr.slice(0, 600)}`).toBe(0);
          }
          expect(r.code, `group failed but every input alone passed: ${r.stderr.slice(0, 400)}`).toBe(0);
        }
        checked += group.length;
      }
      // --test / -c never touched the kernel.
      const list = await execIn(ns!.name, ['nft', 'list', 'ruleset']);
      expect(list.stdout).toBe('');
    });
  }
});
