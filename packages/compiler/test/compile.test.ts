import { describe, expect, it } from 'vitest';
import { compile, nodeSettings } from '../src/index.ts';
import type { ServicePortPlan } from '../src/index.ts';
import { cluster, ep, slice, svc } from './fixtures.ts';

const settings = nodeSettings({ nodeName: 'node-a', clusterCIDR: '10.244.0.0/16' });
const only = (c: ReturnType<typeof cluster>): ServicePortPlan => {
  const plan = compile(c, settings);
  expect(plan.servicePorts).toHaveLength(1);
  return plan.servicePorts[0]!;
};
const addrs = (eps: readonly { address: string }[]) => eps.map((e) => e.address);

interface Case {
  name: string;
  input: ReturnType<typeof cluster>;
  expect: (sp: ServicePortPlan) => void;
}

const cases: Case[] = [
  {
    name: 'ClusterIP with ready endpoints uses all of them, no filter',
    input: cluster([svc('web')], [slice('web', [ep('10.244.1.3'), ep('10.244.1.1'), ep('10.244.1.2')])]),
    expect: (sp) => {
      expect(sp.key).toBe('ns/web:p80');
      expect(addrs(sp.clusterEndpoints)).toEqual(['10.244.1.1:8080', '10.244.1.2:8080', '10.244.1.3:8080']);
      expect(sp.flags).toMatchObject({ hasEndpoints: true, hasInternalEndpoints: true, usesClusterPolicyChain: true, usesLocalPolicyChain: false, usesExternalChain: false });
      expect(sp.flags.internalFilter).toBeUndefined();
    },
  },
  {
    name: 'no endpoints: REJECT internal and external traffic, no chains',
    input: cluster([svc('web', { type: 'NodePort', ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }] })]),
    expect: (sp) => {
      expect(sp.flags).toMatchObject({ hasEndpoints: false, internalFilter: 'REJECT', externalFilter: 'REJECT', usesClusterPolicyChain: false, usesExternalChain: false });
      expect(sp.endpoints).toEqual([]);
    },
  },
  {
    name: 'not-ready endpoints receive nothing',
    input: cluster([svc('web')], [slice('web', [ep('10.244.1.1'), ep('10.244.1.2', { ready: false })])]),
    expect: (sp) => expect(addrs(sp.endpoints)).toEqual(['10.244.1.1:8080']),
  },
  {
    name: 'serving-and-terminating endpoints only when none is ready',
    input: cluster([svc('web')], [slice('web', [ep('10.244.1.1', { ready: false, serving: true, terminating: true }), ep('10.244.1.2', { ready: false, serving: false, terminating: true })])]),
    expect: (sp) => {
      expect(addrs(sp.clusterEndpoints)).toEqual(['10.244.1.1:8080']);
      expect(sp.flags.hasEndpoints).toBe(true);
    },
  },
  {
    name: 'terminating endpoints are ignored while a ready one exists',
    input: cluster([svc('web')], [slice('web', [ep('10.244.1.1', { ready: false, serving: true, terminating: true }), ep('10.244.1.2')])]),
    expect: (sp) => expect(addrs(sp.clusterEndpoints)).toEqual(['10.244.1.2:8080']),
  },
  {
    name: 'internalTrafficPolicy Local without local endpoints: DROP internal traffic',
    input: cluster([svc('web', { internalTrafficPolicy: 'Local' })], [slice('web', [ep('10.244.1.1', { node: 'node-b' })])]),
    expect: (sp) => {
      expect(sp.flags).toMatchObject({ hasEndpoints: true, hasInternalEndpoints: false, internalFilter: 'DROP', usesClusterPolicyChain: false, usesLocalPolicyChain: false });
    },
  },
  {
    name: 'internalTrafficPolicy Local uses only this node\'s endpoints',
    input: cluster([svc('web', { internalTrafficPolicy: 'Local' })], [slice('web', [ep('10.244.1.1', { node: 'node-b' }), ep('10.244.2.1', { node: 'node-a' })])]),
    expect: (sp) => {
      expect(addrs(sp.localEndpoints)).toEqual(['10.244.2.1:8080']);
      expect(addrs(sp.endpoints)).toEqual(['10.244.2.1:8080']);
      expect(sp.flags).toMatchObject({ internalPolicy: 'local', usesLocalPolicyChain: true, usesClusterPolicyChain: false });
    },
  },
  {
    name: 'NodePort with externalTrafficPolicy Local and a local endpoint',
    input: cluster(
      [svc('web', { type: 'NodePort', externalTrafficPolicy: 'Local', healthCheckNodePort: 31000, ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }] })],
      [slice('web', [ep('10.244.1.1', { node: 'node-b' }), ep('10.244.2.1', { node: 'node-a' })])],
    ),
    expect: (sp) => {
      expect(sp.nodePort).toBe(30080);
      expect(sp.healthCheckNodePort).toBe(31000);
      expect(addrs(sp.clusterEndpoints)).toHaveLength(2);
      expect(addrs(sp.localEndpoints)).toEqual(['10.244.2.1:8080']);
      expect(sp.flags).toMatchObject({ externalPolicy: 'local', internalPolicy: 'cluster', usesExternalChain: true, usesClusterPolicyChain: true, usesLocalPolicyChain: true, hasExternalEndpoints: true });
    },
  },
  {
    name: 'NodePort with externalTrafficPolicy Local and no local endpoint: DROP external only',
    input: cluster(
      [svc('web', { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }] })],
      [slice('web', [ep('10.244.1.1', { node: 'node-b' })])],
    ),
    expect: (sp) => {
      expect(sp.flags).toMatchObject({ hasInternalEndpoints: true, hasExternalEndpoints: false, externalFilter: 'DROP', usesExternalChain: true });
      expect(sp.flags.internalFilter).toBeUndefined();
    },
  },
  {
    name: 'LoadBalancer with source ranges uses a firewall chain; a range holding the node admits LB IPs as source',
    input: cluster(
      [svc('web', { type: 'LoadBalancer', loadBalancerIPs: ['203.0.113.5'], loadBalancerSourceRanges: ['192.168.1.0/24'], ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }] })],
      [slice('web', [ep('10.244.1.1')])],
    ),
    expect: (sp) => expect(sp.flags).toMatchObject({ usesFirewallChain: true, firewallAllowsNode: true, usesExternalChain: true }),
  },
  {
    name: 'nodePort on a ClusterIP service is ignored; externalIPs make it externally accessible',
    input: cluster([svc('web', { externalIPs: ['203.0.113.9'], ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }] })], [slice('web', [ep('10.244.1.1')])]),
    expect: (sp) => {
      expect(sp.nodePort).toBeUndefined();
      expect(sp.externallyAccessible).toBe(true);
      expect(sp.externalIPs).toEqual(['203.0.113.9']);
    },
  },
  {
    name: 'endpoints from several slices are merged, deduplicated and ordered by ip:port string',
    input: cluster([svc('web')], [slice('web', [ep('10.244.1.10'), ep('10.244.1.2')], 'web-a'), slice('web', [ep('10.244.1.2'), ep('10.244.1.9')], 'web-b')]),
    expect: (sp) => expect(addrs(sp.endpoints)).toEqual(['10.244.1.10:8080', '10.244.1.2:8080', '10.244.1.9:8080']),
  },
  {
    // Past 16 endpoints duplicates are found through a set instead of a scan.
    name: 'many endpoints over several slices are deduplicated too, and the list holds no gaps',
    input: cluster([svc('web')], [
      slice('web', Array.from({ length: 20 }, (_, i) => ep(`10.244.1.${i}`)), 'web-a'),
      slice('web', [ep('10.244.1.3'), ep('10.244.1.19'), ep('10.244.2.1'), { addresses: [], conditions: { ready: true, serving: true, terminating: false } }], 'web-b'),
    ]),
    expect: (sp) => {
      expect(sp.endpoints).toHaveLength(21);
      expect(new Set(addrs(sp.endpoints)).size).toBe(21);
      expect(addrs(sp.endpoints)).toContain('10.244.2.1:8080');
      expect(Object.keys(sp.endpoints)).toHaveLength(21);
    },
  },
  {
    name: 'ClientIP affinity carries its timeout',
    input: cluster([svc('web', { sessionAffinity: { timeoutSeconds: 600 } })], [slice('web', [ep('10.244.1.1')])]),
    expect: (sp) => expect(sp.affinityTimeoutSeconds).toBe(600),
  },
];

describe('compile: kube-proxy semantics', () => {
  for (const c of cases) it(c.name, () => c.expect(only(c.input)));

  it('resolves each service port through the slice port of the same name', () => {
    const plan = compile(
      cluster(
        [svc('web', { ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'web' }, { name: 'dns', protocol: 'UDP', port: 53, targetPort: 'dns' }] })],
        [slice('web', [ep('10.244.1.1')], 'web-x', [{ name: 'http', protocol: 'TCP', port: 8080 }, { name: 'dns', protocol: 'UDP', port: 5353 }])],
      ),
      settings,
    );
    expect(plan.servicePorts.map((sp) => [sp.key, sp.protocol, addrs(sp.endpoints)])).toEqual([
      ['ns/web:dns', 'UDP', ['10.244.1.1:5353']],
      ['ns/web:http', 'TCP', ['10.244.1.1:8080']],
    ]);
  });

  it('produces nothing for headless and ExternalName services', () => {
    const plan = compile(cluster([svc('h', { headless: true, clusterIPs: [] }), svc('x', { type: 'ExternalName', clusterIPs: [], ports: [] })]), settings);
    expect(plan.servicePorts).toEqual([]);
  });

  it('takes node IPs of the family from the Node object', () => {
    expect(compile(cluster([]), settings).nodeIPs).toEqual(['192.168.1.10']);
  });

  it('is deterministic and independent of input order', () => {
    const a = cluster([svc('a', { clusterIPs: ['10.96.0.1'] }), svc('b', { clusterIPs: ['10.96.0.2'] })], [slice('a', [ep('10.244.0.1')]), slice('b', [ep('10.244.0.2')])]);
    const b = { ...a, services: [...a.services].reverse(), endpointSlices: [...a.endpointSlices].reverse() };
    expect(compile(b, settings)).toEqual(compile(a, settings));
    expect(JSON.stringify(compile(a, settings))).toBe(JSON.stringify(compile(a, settings)));
  });

  it('rejects a masquerade bit out of range and a cluster CIDR of the other family', () => {
    expect(() => nodeSettings({ nodeName: 'n', masqueradeBit: 32 })).toThrow(/masquerade bit 32/);
    expect(() => compile(cluster([]), nodeSettings({ nodeName: 'n', clusterCIDR: 'fd00::/64' }))).toThrow(/not an IPv4 range/);
  });
});

describe('compile: NodePort addresses, service CIDRs and localhost NodePorts (kube-proxy NodePortAddresses)', () => {
  const node = { name: 'node-a', addresses: [
    { type: 'ExternalIP', address: '203.0.113.7' },
    { type: 'InternalIP', address: '192.168.1.10' },
    { type: 'InternalIP', address: '192.168.2.10' },
    { type: 'InternalIP', address: 'fd00::10' },
  ] };
  const withNode = { ...cluster([]), nodes: [node] };
  const plan = (partial: Parameters<typeof nodeSettings>[0], family: 'IPv4' | 'IPv6' = 'IPv4') => compile(withNode, nodeSettings(partial), family);

  it('no CIDR, or a zero CIDR: every local address, with localhost NodePorts for IPv4', () => {
    expect(plan({ nodeName: 'node-a' })).toMatchObject({ nodePortIPs: 'all', localhostNodePorts: true });
    expect(plan({ nodeName: 'node-a', nodePortAddresses: ['10.0.0.0/8', '0.0.0.0/0'] })).toMatchObject({ nodePortIPs: 'all', localhostNodePorts: true });
    expect(plan({ nodeName: 'node-a', localhostNodePorts: false })).toMatchObject({ nodePortIPs: 'all', localhostNodePorts: false });
    expect(plan({ nodeName: 'node-a' }, 'IPv6')).toMatchObject({ nodePortIPs: 'all', localhostNodePorts: false });
  });

  it("'primary' is the first InternalIP of the family, not the first address", () => {
    expect(plan({ nodeName: 'node-a', nodePortAddresses: 'primary' })).toMatchObject({ nodePortIPs: ['192.168.1.10'], localhostNodePorts: false });
    expect(plan({ nodeName: 'node-a', nodePortAddresses: 'primary' }, 'IPv6').nodePortIPs).toEqual(['fd00::10']);
  });

  it("'primary' on a node without an address of the family matches every address, as kube-proxy does without a primary IP", () => {
    expect(compile(cluster([]), nodeSettings({ nodeName: 'node-a', nodePortAddresses: 'primary' }), 'IPv6').nodePortIPs).toBe('all');
  });

  it("CIDRs select the node's addresses inside them (and 127.0.0.1 when one covers it); CIDRs of the other family are ignored", () => {
    expect(plan({ nodeName: 'node-a', nodePortAddresses: ['192.168.0.0/16', 'fd00::/8'] }).nodePortIPs).toEqual(['192.168.1.10', '192.168.2.10']);
    expect(plan({ nodeName: 'node-a', nodePortAddresses: ['192.168.2.0/24', '127.0.0.0/8'] })).toMatchObject({ nodePortIPs: ['127.0.0.1', '192.168.2.10'], localhostNodePorts: true });
    expect(plan({ nodeName: 'node-a', nodePortAddresses: ['fd00::/8'] }).nodePortIPs).toBe('all');
  });

  it('keeps the service CIDRs of the family only', () => {
    expect(plan({ nodeName: 'node-a', serviceCIDRs: ['10.96.0.0/12', 'fd00:96::/112'] }).serviceCIDRs).toEqual(['10.96.0.0/12']);
    expect(plan({ nodeName: 'node-a', serviceCIDRs: ['10.96.0.0/12', 'fd00:96::/112'] }, 'IPv6').serviceCIDRs).toEqual(['fd00:96::/112']);
  });
});
