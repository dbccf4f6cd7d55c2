import { describe, expect, it } from 'vitest';
import { compile, nodeSettings } from '@kpb/compiler';
import {
  buildRuleset,
  checkReferences,
  endpointChainBase,
  formatRule,
  renderCanonical,
  renderScript,
  RenderError,
  servicePortChainBase,
  ScriptWriter,
} from '../src/index.ts';
import type { NftRuleset } from '../src/index.ts';
import { ep, NODES, slice, smallPlan, svc } from './fixtures.ts';
import { referenceProblems } from '../src/ruleset.ts';

const sp = (namespace: string, serviceName: string, portName = 'p80') => ({ namespace, serviceName, protocol: 'TCP' as const, portName });

describe('kube-proxy chain names', () => {
  it('match the hashes in kube-proxy nftables proxier_test.go', () => {
    expect(servicePortChainBase(sp('ns1', 'svc1'))).toBe('ULMVA6XW-ns1/svc1/tcp/p80');
    expect(servicePortChainBase(sp('ns2', 'svc2'))).toBe('42NFTM6N-ns2/svc2/tcp/p80');
    expect(servicePortChainBase(sp('ns3', 'svc3'))).toBe('4AT6LBPK-ns3/svc3/tcp/p80');
    expect(servicePortChainBase(sp('ns5', 'svc5'))).toBe('HVFWP5L3-ns5/svc5/tcp/p80');
    expect(endpointChainBase(sp('ns1', 'svc1'), { ip: '10.180.0.1', port: 80 })).toBe('5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80');
    expect(endpointChainBase(sp('ns2', 'svc2'), { ip: '10.180.0.2', port: 80 })).toBe('SGOXE6O3-ns2/svc2/tcp/p80__10.180.0.2/80');
    expect(endpointChainBase(sp('ns4', 'svc4'), { ip: '10.180.0.4', port: 80 })).toBe('UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80');
    expect(endpointChainBase(sp('ns4', 'svc4'), { ip: '10.180.0.5', port: 80 })).toBe('5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80');
    expect(endpointChainBase(sp('ns5', 'svc5'), { ip: '10.180.0.3', port: 80 })).toBe('GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80');
  });
  it('match the IPv6 hashes in kube-proxy nftables proxier_test.go (its ip6 dump; colons become dots)', () => {
    expect(endpointChainBase(sp('ns1', 'svc1'), { ip: 'fd00:10:180::1', port: 80 })).toBe('ZVRFLKHO-ns1/svc1/tcp/p80__fd00.10.180..1/80');
    expect(endpointChainBase(sp('ns1', 'svc1'), { ip: 'fd00:10:180::2:1', port: 80 })).toBe('2CRNCTTE-ns1/svc1/tcp/p80__fd00.10.180..2.1/80');
  });

  it('a service port or endpoint whose key or address stays but whose protocol or port changes gets new names', () => {
    // The build keeps names by sp.key and ep.address; the other parts of the hashed text are compared.
    const plan = compile(
      { services: [svc('ns1', 'svc1', '172.30.0.41', { ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 80 }] })], endpointSlices: [{ ...slice('ns1', 'svc1', [ep('10.180.0.1')], 80), namespace: 'ns1' }], nodes: NODES },
      nodeSettings({ nodeName: 'node-a' }),
    );
    const chainNames = (p: typeof plan) => buildRuleset(p).chains.map((c) => c.name).filter((n) => /^(service|endpoint)-[A-Z2-7]{8}-/.test(n));
    expect(chainNames(plan)).toEqual([`service-${servicePortChainBase(sp('ns1', 'svc1'))}`, `endpoint-${endpointChainBase(sp('ns1', 'svc1'), { ip: '10.180.0.1', port: 80 })}`]);
    const sp0 = plan.servicePorts[0]!;
    const udp = { ...sp0, protocol: 'UDP' as const, endpoints: sp0.endpoints.map((e) => ({ ...e, port: 81 })) };
    const edited = { ...plan, servicePorts: [{ ...udp, clusterEndpoints: udp.endpoints }] };
    const udpSp = { ...sp('ns1', 'svc1'), protocol: 'UDP' as const };
    expect(chainNames(edited)).toEqual([`service-${servicePortChainBase(udpSp)}`, `endpoint-${endpointChainBase(udpSp, { ip: '10.180.0.1', port: 81 })}`]);
  });

  it('replace IPv6 colons with dots', () => {
    expect(endpointChainBase(sp('ns', 's'), { ip: 'fd00::1', port: 80 })).toMatch(/^[A-Z2-7]{8}-ns\/s\/tcp\/p80__fd00..1\/80$/);
  });
});

describe('kube-proxy rule contents', () => {
  // kube-proxy's TestOverallNFTablesRules svc1 and svc4 (cluster CIDR 10.0.0.0/8).
  const plan = compile(
    {
      services: [svc('ns1', 'svc1', '172.30.0.41', { ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 80 }] }),
        svc('ns4', 'svc4', '172.30.0.44', { ports: [{ name: 'p80', protocol: 'TCP', port: 80, targetPort: 80 }] })],
      endpointSlices: [
        { ...slice('ns1', 'svc1', [ep('10.180.0.1')], 80), namespace: 'ns1' },
        { ...slice('ns4', 'svc4', [ep('10.180.0.4'), ep('10.180.0.5')], 80), namespace: 'ns4' },
      ],
      nodes: NODES,
    },
    nodeSettings({ nodeName: 'node-a', clusterCIDR: '10.0.0.0/8' }),
  );
  const rules = (rs: NftRuleset, chain: string) => rs.chains.find((c) => c.name === chain)!.rules.map((r) => formatRule(r, rs.family));

  it('kube-proxy layout: service chain, endpoint chain', () => {
    const rs = buildRuleset(plan, 'kube-proxy');
    expect(rules(rs, 'service-ULMVA6XW-ns1/svc1/tcp/p80')).toEqual([
      'ip daddr 172.30.0.41 ip saddr != 10.0.0.0/8 jump mark-for-masquerade',
      'numgen random mod 1 vmap { 0 : goto endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 }',
    ]);
    expect(rules(rs, 'service-LAUZTJTB-ns4/svc4/tcp/p80')[1]).toBe(
      'numgen random mod 2 vmap { 0 : goto endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80, 1 : goto endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80 }',
    );
    expect(rules(rs, 'endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80')).toEqual([
      'ip saddr 10.180.0.1 jump mark-for-masquerade',
      'meta l4proto tcp dnat to 10.180.0.1:80',
    ]);
    expect(rules(rs, 'masquerading')).toEqual([
      'meta mark & 0x00004000 == 0x00000000 return',
      'meta mark set meta mark ^ 0x00004000',
      'masquerade fully-random',
    ]);
  });

  it('flat layout: chained numgen rules, last unconditional, no anonymous set', () => {
    const rs = buildRuleset(plan, 'flat');
    expect(rules(rs, 'service-LAUZTJTB-ns4/svc4/tcp/p80')).toEqual([
      'ip daddr 172.30.0.44 ip saddr != 10.0.0.0/8 jump mark-for-masquerade',
      'numgen random mod 2 0 goto endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80',
      'goto endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80',
    ]);
    const all = rs.chains.flatMap((c) => c.rules.flatMap((r) => r.statements));
    expect(all.some((s) => s.kind === 'numgen-vmap' || s.kind === 'match-addr-anon')).toBe(false);
  });

  it('masquerade bit comes from the settings', () => {
    const p = compile({ services: [], endpointSlices: [], nodes: NODES }, nodeSettings({ nodeName: 'node-a', masqueradeBit: 5 }));
    expect(rules(buildRuleset(p), 'mark-for-masquerade')).toEqual(['meta mark set meta mark | 0x00000020']);
  });
});

describe('reference checks', () => {
  it('name each missing chain and set; map elements are checked from mapStarts on', () => {
    const goto = (chain: string) => ({ kind: 'goto', chain }) as const;
    const chains = [
      { name: 'a', rules: [{ statements: [{ kind: 'verdict', verdict: goto('b') }, { kind: 'match-addr-in', field: 'daddr', set: 's' }] as const }] },
      { name: 'b', rules: [{ statements: [{ kind: 'verdict', verdict: goto('x') }, { kind: 'vmap', key: ['daddr'], map: 'm' }] as const }] },
    ];
    const maps = [{ name: 'm', elements: [{ key: ['10.0.0.1'], verdict: goto('y') }, { key: ['10.0.0.2'], verdict: goto('z') }] }];
    const has = { chain: (n: string) => n === 'a' || n === 'b', set: (n: string) => n === 'm' };
    const problems: string[] = [];
    referenceProblems(chains, maps, has, problems);
    expect(problems).toEqual(['chain a refers to missing set s', 'chain b refers to missing chain x', 'map m refers to missing chain y', 'map m refers to missing chain z']);
    const fromSecond: string[] = [];
    referenceProblems([], maps, has, fromSecond, [1]);
    expect(fromSecond).toEqual(['map m refers to missing chain z']);
  });
});

describe('small plan', () => {
  for (const layout of ['flat', 'kube-proxy'] as const) {
    it(`${layout}: golden script and canonical listing`, async () => {
      const rs = buildRuleset(smallPlan(), layout);
      expect(checkReferences(rs)).toEqual([]);
      await expect(renderScript(rs)).toMatchFileSnapshot(`__golden__/small-${layout}.nft`);
      await expect(renderCanonical(rs)).toMatchFileSnapshot(`__golden__/small-${layout}.canon`);
    });
  }

  it('the two layouts differ only in the endpoint choice, firewall rules and comments', () => {
    const a = buildRuleset(smallPlan(), 'flat');
    const b = buildRuleset(smallPlan(), 'kube-proxy');
    expect(a.chains.map((c) => c.name)).toEqual(b.chains.map((c) => c.name));
    const uncommented = b.maps.map((m) => ({ ...m, elements: m.elements.map(({ comment: _, ...e }) => e) }));
    expect(a.maps).toEqual(uncommented);
    expect(a.sets).toEqual(b.sets);
  });

  it('both layouts hold every ClusterIP in cluster-ips and check it after DNAT', () => {
    for (const layout of ['flat', 'kube-proxy'] as const) {
      const rs = buildRuleset(smallPlan(), layout);
      expect(rs.sets.find((s) => s.name === 'cluster-ips')?.elements.length).toBe(7);
      const chain = (name: string) => rs.chains.find((c) => c.name === name);
      expect(chain('filter-output')?.base).toEqual({ type: 'filter', hook: 'output', priority: 0, policy: 'accept' });
      expect(chain('filter-output-pre-dnat')?.base).toEqual({ type: 'filter', hook: 'output', priority: -110, policy: 'accept' });
      const rules = (name: string) => chain(name)!.rules.map((r) => formatRule(r, 'ip'));
      expect(rules('filter-forward')).toEqual(['ct state new jump service-endpoints-check', 'ct state new jump cluster-ips-check']);
      expect(rules('filter-output')).toEqual(['ct state new jump service-endpoints-check', 'ct state new jump cluster-ips-check']);
      // No service CIDR in the settings: only the reject rule.
      expect(rules('cluster-ips-check')).toEqual(['ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"']);
      expect(checkReferences(rs)).toEqual([]);
    }
  });

  it('drops traffic to the service CIDRs: one anonymous set (kube-proxy), one rule per CIDR (flat)', () => {
    const plan = { ...smallPlan(), serviceCIDRs: ['10.96.0.0/12', '172.30.0.0/16'] };
    const rules = (layout: 'flat' | 'kube-proxy') => buildRuleset(plan, layout).chains.find((c) => c.name === 'cluster-ips-check')!.rules.slice(1).map((r) => formatRule(r, 'ip'));
    expect(rules('kube-proxy')).toEqual(['ip daddr { 10.96.0.0/12, 172.30.0.0/16 } drop comment "Drop traffic to unallocated ClusterIPs"']);
    expect(rules('flat')).toEqual([
      'ip daddr 10.96.0.0/12 drop comment "Drop traffic to unallocated ClusterIPs"',
      'ip daddr 172.30.0.0/16 drop comment "Drop traffic to unallocated ClusterIPs"',
    ]);
  });

  it('matches NodePorts on the nodeport-ips set (loopback left out), or on every local address', () => {
    const nodeRules = (rs: NftRuleset) => ['services', 'nodeport-endpoints-check'].map((n) => formatRule(rs.chains.find((c) => c.name === n)!.rules.at(-1)!, 'ip'));
    const listed = buildRuleset({ ...smallPlan(), nodePortIPs: ['127.0.0.1', '192.168.0.2'] }, 'kube-proxy');
    expect(nodeRules(listed)).toEqual([
      'ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports',
      'ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports',
    ]);
    expect(listed.sets.find((s) => s.name === 'nodeport-ips')).toEqual({ name: 'nodeport-ips', keyType: ['ipv4_addr'], flags: [], comment: 'IPs that accept NodePort traffic', elements: [['192.168.0.2']] });
    const all = buildRuleset({ ...smallPlan(), nodePortIPs: 'all' }, 'flat');
    expect(nodeRules(all)).toEqual([
      'fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports',
      'ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports',
    ]);
    expect(all.sets.map((s) => s.name)).not.toContain('nodeport-ips');
  });

  it('kube-proxy layout: comments on reject-chain and no-endpoint elements; flat: none', () => {
    const kp = buildRuleset(smallPlan(), 'kube-proxy');
    const flat = buildRuleset(smallPlan(), 'flat');
    expect(kp.chains.find((c) => c.name === 'reject-chain')?.comment).toBe('helper for @no-endpoint-services / @no-endpoint-nodeports');
    expect(flat.chains.find((c) => c.name === 'reject-chain')?.comment).toBeUndefined();
    const noEndpoint = (rs: NftRuleset) => rs.maps.find((m) => m.name === 'no-endpoint-services')!.elements;
    expect(noEndpoint(kp).length).toBeGreaterThan(0);
    for (const e of noEndpoint(kp)) expect(e.comment).toMatch(/^[a-z0-9-]+\/[a-z0-9-]+(:[a-z0-9-]+)?$/);
    expect(noEndpoint(flat).every((e) => e.comment === undefined)).toBe(true);
    expect(renderScript(kp)).toMatch(/add element ip kube-proxy no-endpoint-services \{ [^}]* comment "[^"]+" : (drop|goto reject-chain)/);
  });
});

describe('renderer refuses unsafe text', () => {
  const w = new ScriptWriter('ip', 'kube-proxy');
  it('names', () => {
    expect(() => w.flushChain('x; flush ruleset')).toThrow(RenderError);
    expect(() => w.flushChain('a b')).toThrow(RenderError);
    expect(() => w.flushChain('')).toThrow(RenderError);
  });
  it('values', () => {
    expect(() => formatRule({ statements: [{ kind: 'match-addr', field: 'saddr', op: '==', value: '10.0.0.1; drop' }] }, 'ip')).toThrow(RenderError);
    expect(() => formatRule({ statements: [{ kind: 'match-addr', field: 'saddr', op: '==', value: 'fd00::1' }] }, 'ip')).toThrow(RenderError);
    expect(() => formatRule({ statements: [{ kind: 'dnat', addr: '10.0.0.1', port: 70000 }] }, 'ip')).toThrow(RenderError);
    expect(() => formatRule({ statements: [{ kind: 'reject' }], comment: 'a"b' }, 'ip')).toThrow(RenderError);
  });
});

describe('anonymous address sets are compared merged', async () => {
  const { normalizeRuleText } = await import('../src/index.ts');
  it('written and listed forms meet', () => {
    // Left: what kpb writes; right: what nft 1.0.6 listed for it.
    const pairs: [string, string][] = [
      ['ip saddr != { 10.0.0.0/8, 11.0.0.0/8 } drop', 'ip saddr != { 10.0.0.0/7 } drop'],
      ['ip saddr != { 10.0.0.0/8, 10.1.0.0/16, 12.0.0.0/8 } drop', 'ip saddr != { 10.0.0.0/8, 12.0.0.0/8 } drop'],
      ['ip saddr != { 1.2.3.4, 1.2.3.5, 1.2.3.7 } drop', 'ip saddr != { 1.2.3.4, 1.2.3.5, 1.2.3.7 } drop'],
      ['ip saddr != { 192.168.1.0/24, 192.168.1.10 } drop', 'ip saddr != { 192.168.1.0/24 } drop'],
      ['ip6 saddr != { 2001:db8:1::/48, 2001:db8:2::/48 } drop', 'ip6 saddr != { 2001:db8:1::-2001:db8:2:ffff:ffff:ffff:ffff:ffff } drop'],
    ];
    for (const [written, listed] of pairs) expect(normalizeRuleText(written)).toBe(normalizeRuleText(listed));
  });
});
