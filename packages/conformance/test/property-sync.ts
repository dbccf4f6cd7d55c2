/**
 * Property: after every step of a seeded random walk over a dual-stack cluster, the kernel's
 * read-back (both families) after an incremental sync equals the read-back after a full apply of
 * the same state (in a second namespace). Shared by one test file per backend so that vitest runs them side by side.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Target } from '@kpb/backend';
import { compileFamilies, nodeSettings, type Plan } from '@kpb/compiler';
import type { Cluster } from '@kpb/model';
import { GENERATED_CLUSTER_CIDR, GENERATED_CLUSTER_CIDR_V6, GENERATED_LOCAL_NODE } from '@kpb/model';
import { canUseKernel, createNamespace, deleteNamespace } from '@kpb/testing';
import { randomWalk } from '../src/index.ts';
import type { BackendCase } from '../src/index.ts';

const STEPS = Number(process.env.KPB_WALK_STEPS ?? 200);
const SERVICES = Number(process.env.KPB_WALK_SERVICES ?? 150);
const settings = nodeSettings({ nodeName: GENERATED_LOCAL_NODE });
/** The walk is over a dual-stack cluster: every step syncs both families' plans. */
const plansOf = (cluster: Cluster): Plan[] => compileFamilies(cluster, settings, ['IPv4', 'IPv6'], [GENERATED_CLUSTER_CIDR, GENERATED_CLUSTER_CIDR_V6]);

/** The first lines where two read-backs differ, for the failure message. */
function firstDifferences(got: string, want: string): string {
  const g = got.split('\n');
  const w = want.split('\n');
  const gs = new Set(g);
  const ws = new Set(w);
  const missing = w.filter((l) => !gs.has(l)).slice(0, 8);
  const extra = g.filter((l) => !ws.has(l)).slice(0, 8);
  if (missing.length + extra.length === 0) return '  (same lines, different order)';
  return `  missing: ${missing.join('\n           ')}\n  extra:   ${extra.join('\n           ')}`;
}

export function incrementalSyncProperty(cases: readonly BackendCase[]): void {
  describe.skipIf(!canUseKernel())('incremental sync equals full apply along a random walk', () => {
    describe.each(cases)('$id', ({ id, create }) => {
      let backend: Backend;
      const namespaces: string[] = [];
      let synced: Target;
      let applied: Target;

      beforeAll(async () => {
        backend = create();
        for (const role of ['walk-sync', 'walk-full']) namespaces.push(await createNamespace(role));
        synced = { kind: 'netns', name: namespaces[0]! };
        applied = { kind: 'netns', name: namespaces[1]! };
      }, 60_000);
      afterAll(async () => {
        for (const ns of namespaces) await deleteNamespace(ns);
      }, 60_000);

      it(`${STEPS} seeded changes on ${SERVICES} dual-stack services`, async () => {
        const walk = randomWalk(SERVICES, 42, 'dual');
        let previous: Plan[] = plansOf(walk.cluster);
        await backend.apply(synced, previous);
        const kinds: Record<string, number> = {};
        let incremental = 0;
        for (let i = 0; i < STEPS; i++) {
          const { kind, service } = walk.step();
          kinds[kind] = (kinds[kind] ?? 0) + 1;
          const plan = plansOf(walk.cluster);
          const result = await backend.sync(synced, previous, plan);
          if (result.mode === 'incremental') incremental++;
          else expect.fail(`step ${i} (${kind} ${service}): sync fell back to a full apply: ${result.reason}`);
          await backend.apply(applied, plan);
          const [got, want] = await Promise.all([backend.readBack(synced), backend.readBack(applied)]);
          // Read-backs are canonical (objects in name order), so they compare as text.
          if (got !== want) expect.fail(`${id} step ${i} (${kind} ${service}): incremental sync differs from a full apply\n${firstDifferences(got, want)}`);
          previous = plan;
        }
        console.log(`[walk] ${id}: ${STEPS} steps, ${incremental} incremental syncs, all equal to a full apply; changes ${JSON.stringify(kinds)}`);
        expect(incremental).toBe(STEPS);
      }, 1_800_000);
    });
  });
}
