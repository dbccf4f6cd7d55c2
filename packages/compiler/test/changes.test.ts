import { describe, expect, it } from 'vitest';
import { compile, diffClusters, diffPlans, hasChanges, nodeSettings } from '../src/index.ts';
import { cluster, ep, slice, svc } from './fixtures.ts';

const settings = nodeSettings({ nodeName: 'node-a' });
const base = cluster(
  [svc('a', { clusterIPs: ['10.96.0.1'] }), svc('b', { clusterIPs: ['10.96.0.2'] })],
  [slice('a', [ep('10.244.0.1')]), slice('b', [ep('10.244.0.2')])],
);

describe('change tracking', () => {
  it('finds no change between equal models', () => {
    const changes = diffClusters(base, structuredClone(base), settings);
    expect(hasChanges(changes)).toBe(false);
  });

  it('drops no-op changes: a slice renamed with the same endpoints', () => {
    const renamed = { ...base, endpointSlices: [slice('a', [ep('10.244.0.1')], 'a-other'), base.endpointSlices[1]!] };
    expect(hasChanges(diffClusters(base, renamed, settings))).toBe(false);
  });

  it('reports an endpoint change, an added and a removed service port', () => {
    const next = cluster(
      [svc('a', { clusterIPs: ['10.96.0.1'] }), svc('c', { clusterIPs: ['10.96.0.3'] })],
      [slice('a', [ep('10.244.0.1'), ep('10.244.0.9')]), slice('c', [ep('10.244.0.3')])],
    );
    const d = diffClusters(base, next, settings);
    expect(d).toMatchObject({ added: ['ns/c:p80'], removed: ['ns/b:p80'], changed: ['ns/a:p80'], settingsChanged: false });
    expect(d.before.map((sp) => sp.key)).toEqual(['ns/a:p80', 'ns/b:p80']);
    expect(d.after.map((sp) => sp.key)).toEqual(['ns/a:p80', 'ns/c:p80']);
    expect(d.after[0]!.endpoints).toHaveLength(2);
  });

  it('reports readiness changes and settings changes', () => {
    const notReady = { ...base, endpointSlices: [slice('a', [ep('10.244.0.1', { ready: false })]), base.endpointSlices[1]!] };
    expect(diffClusters(base, notReady, settings).changed).toEqual(['ns/a:p80']);
    const other = diffPlans(compile(base, settings), compile(base, nodeSettings({ nodeName: 'node-a', masqueradeAll: true })));
    expect(other.settingsChanged).toBe(true);
  });
});
