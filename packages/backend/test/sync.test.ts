/** The sync skeleton's decisions, with fake hooks and a fake clock. */
import { describe, expect, it } from 'vitest';
import type { Plan, ServicePortPlan } from '@kpb/compiler';
import { NO_PREVIOUS_PLAN, runSync, SETTINGS_CHANGED } from '../src/sync.ts';
import type { DriftCheck, Sent, SyncHooks, Update } from '../src/sync.ts';
import type { ApplyResult } from '../src/types.ts';

const sp = (key: string, port: number) => ({ key, port }) as unknown as ServicePortPlan;
const plan = (servicePorts: ServicePortPlan[], masqueradeAll = false): Plan => ({
  family: 'IPv4',
  settings: { nodeName: 'n', masqueradeAll, masqueradeBit: 14, nodePortAddresses: [], serviceCIDRs: [], localhostNodePorts: true },
  nodeIPs: ['192.0.2.1'],
  nodePortIPs: 'all',
  serviceCIDRs: [],
  localhostNodePorts: true,
  servicePorts,
  endpointCount: 0,
});
const A = plan([sp('a', 1), sp('b', 1), sp('c', 1)]);
const B = plan([sp('a', 1), sp('b', 2), sp('d', 1)]);

const FULL: ApplyResult = { timings: { render: 1, kernel: 2, other: 3 }, size: { unit: 'lines', count: 100 } };

/** Hooks that answer as told and log what was called; the clock advances 10 per reading. */
function fakes(answers: { plan?: string; drift?: DriftCheck; diff?: Update<string>; sent?: Sent } = {}) {
  const calls: string[] = [];
  let t = 0;
  const clock = () => (t += 10);
  const hooks: SyncHooks<string> = {
    applyFull: async (to) => {
      calls.push(`full ${to === B ? 'B' : '?'}`);
      return FULL;
    },
    planFullReason: () => (calls.push('plan'), answers.plan),
    checkDrift: async () => (calls.push('drift'), answers.drift ?? { holdsFrom: true }),
    diff: (_from, _to, changes) => (calls.push(`diff ${changes.changed.join(',')}`), answers.diff ?? { update: 'u' }),
    send: async (update) => {
      calls.push(`send ${update}`);
      return answers.sent ?? { timings: { render: 4, kernel: 5 }, size: { unit: 'lines', count: 7 } };
    },
  };
  return { hooks, calls, clock };
}

describe('runSync', () => {
  it('no previous plan: full apply of `to`, every service port changed', async () => {
    const f = fakes();
    const r = await runSync(f.hooks, undefined, B, f.clock);
    expect(r).toEqual({ ...FULL, mode: 'full', reason: NO_PREVIOUS_PLAN, changedServicePorts: ['a', 'b', 'd'], timings: { render: 1, kernel: 2, other: 3 } });
    expect(f.calls).toEqual(['full B']);
  });

  it('settings changed: full apply before looking at the kernel', async () => {
    const f = fakes();
    const r = await runSync(f.hooks, plan(A.servicePorts as ServicePortPlan[], true), B, f.clock);
    expect(r).toMatchObject({ mode: 'full', reason: SETTINGS_CHANGED });
    expect(f.calls).toEqual(['full B']);
  });

  it('the plans alone ask for full: full apply without reading the kernel', async () => {
    const f = fakes({ plan: 'large-cluster mode changed' });
    const r = await runSync(f.hooks, A, B, f.clock);
    expect(r).toMatchObject({ mode: 'full', reason: 'large-cluster mode changed' });
    expect(f.calls).toEqual(['plan', 'full B']);
    expect(r.timings.render).toBe(1 + 10); // the time spent deciding is counted
  });

  it('drift: full apply, the reason names the differences (and why the kernel was read back)', async () => {
    const differences = [{ kind: 'missing', object: 'nat rule in KUBE-SERVICES: -A …' }, { kind: 'unexpected', object: 'x' }] as const;
    const f = fakes({ drift: { holdsFrom: false, differences } });
    const r = await runSync(f.hooks, A, B, f.clock);
    expect(r.reason).toBe('drift: the kernel does not hold the previous plan (2 difference(s), first: missing nat rule in KUBE-SERVICES: -A …)');
    expect(f.calls).toEqual(['plan', 'drift', 'full B']);
    expect(r.timings.other).toBe(3 + 10);
    const g = fakes({ drift: { holdsFrom: false, differences: [], readBackBecause: 'ruleset generation 5, recorded 4' } });
    expect((await runSync(g.hooks, A, B, g.clock)).reason).toBe(
      'drift: the kernel does not hold the previous plan (same objects, listed differently); read back because ruleset generation 5, recorded 4',
    );
  });

  it('the diff asks for full: full apply with its reason, nothing sent', async () => {
    const f = fakes({ diff: { fullReason: 'map service-ips definition differs' } });
    const r = await runSync(f.hooks, A, B, f.clock);
    expect(r).toMatchObject({ mode: 'full', reason: 'map service-ips definition differs' });
    expect(f.calls).toEqual(['plan', 'drift', 'diff b', 'full B']);
  });

  it('sending fails in a way a full apply repairs: full apply, the reason carries the failure', async () => {
    const f = fakes({ sent: { failed: 'iptables-restore: line 3 failed' } });
    const r = await runSync(f.hooks, A, B, f.clock);
    expect(r).toMatchObject({ mode: 'full', reason: 'incremental update failed, full apply instead: iptables-restore: line 3 failed' });
    expect(f.calls).toEqual(['plan', 'drift', 'diff b', 'send u', 'full B']);
  });

  it('incremental: sends the diff; timings add up; changed service ports default to added, changed, removed', async () => {
    const f = fakes();
    const r = await runSync(f.hooks, A, B, f.clock);
    expect(r).toEqual({
      mode: 'incremental',
      timings: { render: 4 + 10 + 10, kernel: 5, other: 10 + 10 },
      size: { unit: 'lines', count: 7 },
      changedServicePorts: ['d', 'b', 'c'],
    });
    expect(f.calls).toEqual(['plan', 'drift', 'diff b', 'send u']);
  });

  it('incremental after a read-back says so; the diff may name the service ports it touched', async () => {
    const f = fakes({ drift: { holdsFrom: true, readBackBecause: 'no record of a previous commit' }, diff: { update: 'u', changedServicePorts: ['b'] } });
    const r = await runSync(f.hooks, A, B, f.clock);
    expect(r).toMatchObject({ mode: 'incremental', reason: 'kernel read back and found to hold --from (no record of a previous commit)', changedServicePorts: ['b'] });
  });
});
