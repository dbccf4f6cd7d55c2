/** diffPlans against a naive reference: maps by key and node's deep equality. */
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { generateCluster, mulberry32 } from '@kpb/model';
import { compile, diffPlans, nodeSettings, samePlanValue } from '../src/index.ts';
import type { Plan, PlanDiff, ServicePortPlan } from '../src/index.ts';

const settings = nodeSettings({ nodeName: 'node-1', clusterCIDR: '10.244.0.0/16' });

function naiveDiff(from: Plan, to: Plan) {
  const before = new Map(from.servicePorts.map((sp) => [sp.key, sp]));
  const after = new Map(to.servicePorts.map((sp) => [sp.key, sp]));
  return {
    added: [...after.keys()].filter((k) => !before.has(k)).sort(),
    removed: [...before.keys()].filter((k) => !after.has(k)).sort(),
    changed: [...after.keys()].filter((k) => before.has(k) && !isDeepStrictEqual(before.get(k), after.get(k))).sort(),
    settingsChanged:
      from.family !== to.family || !isDeepStrictEqual(from.settings, to.settings) || !isDeepStrictEqual(from.nodeIPs, to.nodeIPs),
  };
}

function expectAgrees(from: Plan, to: Plan): PlanDiff {
  const d = diffPlans(from, to);
  const want = naiveDiff(from, to);
  expect({ added: [...d.added].sort(), removed: [...d.removed].sort(), changed: [...d.changed].sort(), settingsChanged: d.settingsChanged }).toEqual(want);
  const keys = (sps: readonly ServicePortPlan[]) => sps.map((sp) => sp.key).sort();
  expect(keys(d.before)).toEqual([...want.changed, ...want.removed].sort());
  expect(keys(d.after)).toEqual([...want.added, ...want.changed].sort());
  for (const sp of d.before) expect(from.servicePorts).toContain(sp);
  for (const sp of d.after) expect(to.servicePorts).toContain(sp);
  return d;
}

/** `plan` with a few service ports dropped, a few edited (copies, so no object is shared) and one added. */
function edited(plan: Plan, seed: number): Plan {
  const rand = mulberry32(seed);
  const servicePorts: ServicePortPlan[] = [];
  for (const sp of plan.servicePorts) {
    const r = rand();
    if (r < 0.05) continue;
    if (r < 0.1) servicePorts.push({ ...structuredClone(sp), port: sp.port + 1 });
    else if (r < 0.15) servicePorts.push({ ...sp, endpoints: sp.endpoints.slice(1) });
    else if (r < 0.2) servicePorts.push(structuredClone(sp)); // equal, another object: no change
    else servicePorts.push(sp);
  }
  const extra = { ...plan.servicePorts[0]!, key: `${plan.servicePorts[0]!.key}-new` };
  servicePorts.push(extra);
  servicePorts.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { ...plan, servicePorts };
}

function shuffled(plan: Plan, seed: number): Plan {
  const rand = mulberry32(seed);
  const servicePorts = [...plan.servicePorts];
  for (let i = servicePorts.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [servicePorts[i], servicePorts[j]] = [servicePorts[j]!, servicePorts[i]!];
  }
  return { ...plan, servicePorts };
}

describe('diffPlans', () => {
  const A = compile(generateCluster({ services: 300, endpointsPerService: 3, seed: 1 }), settings);
  const other = compile(generateCluster({ services: 200, endpointsPerService: 2, seed: 7 }), settings);

  it('agrees with the naive reference on sorted plans (merge-join)', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const B = edited(A, seed);
      const d = expectAgrees(A, B);
      expect(d.changed.length + d.added.length + d.removed.length).toBeGreaterThan(10);
      expectAgrees(B, A);
    }
    expectAgrees(A, other);
    expectAgrees(other, A);
    expectAgrees(A, { ...A, servicePorts: [] });
  });

  it('agrees with the naive reference on plans not sorted by key (map join)', () => {
    for (let seed = 1; seed <= 3; seed++) {
      const B = edited(A, seed);
      expectAgrees(shuffled(A, seed), B);
      expectAgrees(A, shuffled(B, seed + 10));
      expectAgrees(shuffled(A, seed), shuffled(B, seed + 20));
    }
  });

  it('sees settings, node IPs and family changes', () => {
    expect(diffPlans(A, { ...A, settings: { ...A.settings, masqueradeAll: true } }).settingsChanged).toBe(true);
    expect(diffPlans(A, { ...A, nodeIPs: ['192.0.2.1'] }).settingsChanged).toBe(true);
    expect(diffPlans(A, { ...A, family: 'IPv6' }).settingsChanged).toBe(true);
    expect(diffPlans(A, { ...A, settings: { ...A.settings } }).settingsChanged).toBe(false);
  });

  it('remembers the result per pair of plan objects', () => {
    const B = edited(A, 3);
    expect(diffPlans(A, B)).toBe(diffPlans(A, B));
    expect(diffPlans(A, edited(A, 3))).not.toBe(diffPlans(A, B));
    expect(diffPlans(A, A).changed).toEqual([]);
  });
});

describe('samePlanValue', () => {
  it('compares plain data structurally, key order aside', () => {
    expect(samePlanValue({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 })).toBe(true);
    expect(samePlanValue({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(samePlanValue({ a: 1, b: undefined }, { a: 1 })).toBe(false);
    expect(samePlanValue([1, 2], [1, 2, 3])).toBe(false);
    expect(samePlanValue([1], { 0: 1 })).toBe(false);
    expect(samePlanValue(null, {})).toBe(false);
    expect(samePlanValue('1', 1)).toBe(false);
  });
});
