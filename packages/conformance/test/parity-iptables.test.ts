/**
 * kube-proxy's own iptables goldens (transcribed in ../kube-proxy/) against kpb's iptables
 * rules, normalised so that only spelling is forgiven; the listed omissions are taken out first.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { compile, nodeSettings } from '@kpb/compiler';
import { parseCluster } from '@kpb/model';
import { renderText } from '@kpb/backend-iptables';
import { diffNormal, normalRuleset, type NormalRule } from '../src/parity/iptables.ts';
import { IPTABLES_OMISSIONS } from '../src/parity/omissions.ts';

const DIR = new URL('../kube-proxy/iptables/', import.meta.url);
/** kube-proxy's fake proxier: node test-node, pod CIDR 10.0.0.0/8 (see ../kube-proxy/README.md). */
const SETTINGS = nodeSettings({ nodeName: 'test-node', clusterCIDR: '10.0.0.0/8' });
const GOLDENS = ['overall', 'sync-repeated-first'];

function kpbRules(name: string): string {
  const file = new URL(`${name}.yaml`, DIR);
  const { cluster } = parseCluster(readFileSync(file, 'utf8'), file.pathname);
  return renderText(compile(cluster, SETTINGS));
}

/** Both sides normalised, the omissions taken out; with how much each omission removed. */
function compared(name: string): { diff: string[]; removed: Map<string, number> } {
  const want = normalRuleset(readFileSync(new URL(`${name}.rules`, DIR), 'utf8'));
  const got = normalRuleset(kpbRules(name));
  const removed = new Map<string, number>();
  for (const o of IPTABLES_OMISSIONS) removed.set(o.id, o.remove(o.side === 'kube-proxy' ? want : got));
  return { diff: diffNormal(want, got), removed };
}

describe("kube-proxy's iptables goldens", () => {
  for (const name of GOLDENS) {
    it(`${name}: kpb's rules equal kube-proxy's, rule for rule, but for the listed omissions`, () => {
      expect(compared(name).diff).toEqual([]);
    });
  }

  it('every listed omission still takes something out of some golden', () => {
    const total = new Map<string, number>();
    for (const name of GOLDENS) {
      for (const [id, n] of compared(name).removed) total.set(id, (total.get(id) ?? 0) + n);
    }
    for (const o of IPTABLES_OMISSIONS) expect(total.get(o.id), o.id).toBeGreaterThan(0);
  });
});

describe('the iptables normaliser', () => {
  const restore = (rule: string) => normalRuleset(`*nat\n:KUBE-SERVICES - [0:0]\n${rule}\nCOMMIT\n`);
  it("reads kube-proxy's restore spelling and iptables-save's as the same rule", () => {
    const kubeProxy = restore('-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-X');
    const saved = restore('-A KUBE-SERVICES -d 172.30.0.41/32 -p tcp -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp --dport 80 -j KUBE-SVC-X');
    expect(diffNormal(kubeProxy, saved)).toEqual([]);
    expect(diffNormal(restore('-A KUBE-SERVICES -j MARK --or-mark 0x4000'), restore('-A KUBE-SERVICES -j MARK --set-xmark 0x4000/0x4000'))).toEqual([]);
    expect(diffNormal(restore('-A KUBE-SERVICES -j REJECT'), restore('-A KUBE-SERVICES -j REJECT --reject-with icmp-port-unreachable'))).toEqual([]);
  });
  it('still tells different rules apart', () => {
    const a = restore('-A KUBE-SERVICES -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-X');
    expect(diffNormal(a, restore('-A KUBE-SERVICES -m tcp -p tcp -d 172.30.0.41 --dport 81 -j KUBE-SVC-X'))).toHaveLength(1);
    expect(diffNormal(a, restore('-A KUBE-SERVICES ! -d 172.30.0.41 -m tcp -p tcp --dport 80 -j KUBE-SVC-X'))).toHaveLength(1);
    expect(diffNormal(restore('-A KUBE-SERVICES -j MARK --or-mark 0x4000'), restore('-A KUBE-SERVICES -j MARK --xor-mark 0x4000'))).toHaveLength(1);
  });
});

/**
 * kube-proxy's TestSyncProxyRulesLargeClusterMode (same upstream file and commit): masquerade-all,
 * svc1 and svc2 with 499 endpoints each (10.0.<i%256>.<i/256>, 10.1.…), then svc3's three.
 * Above 1000 endpoints kube-proxy drops the per-endpoint comments. The test asserts chosen lines
 * and counts, not a whole ruleset; so does this one. The cluster is built by the test's own rule.
 */
describe("kube-proxy's large-cluster mode", () => {
  const service = (ns: string, name: string, ip: string, port: number) => ({
    apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name },
    spec: { type: 'ClusterIP', clusterIP: ip, ports: [{ name: `p${port}`, port, protocol: 'TCP' }] },
  });
  const slice = (ns: string, name: string, port: number, addresses: string[]) => ({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
    metadata: { namespace: ns, name: `${name}-1`, labels: { 'kubernetes.io/service-name': name } },
    endpoints: addresses.map((a) => ({ addresses: [a] })), ports: [{ name: `p${port}`, port, protocol: 'TCP' }],
  });
  const many = (prefix: string) => Array.from({ length: 499 }, (_, i) => `${prefix}.${i % 256}.${Math.floor(i / 256)}`);
  function rules(withSvc3: boolean): string {
    const items: unknown[] = [
      service('ns1', 'svc1', '172.30.0.41', 80), service('ns2', 'svc2', '172.30.0.42', 8080), service('ns3', 'svc3', '172.30.0.43', 8081),
      slice('ns1', 'svc1', 80, many('10.0')), slice('ns2', 'svc2', 8080, many('10.1')),
    ];
    if (withSvc3) items.push(slice('ns3', 'svc3', 8081, ['203.0.113.4', '203.0.113.8', '203.0.113.12']));
    const { cluster } = parseCluster(JSON.stringify({ kind: 'List', items }), 'large-cluster.json');
    return renderText(compile(cluster, nodeSettings({ nodeName: 'test-node', clusterCIDR: '10.0.0.0/8', masqueradeAll: true })));
  }
  /** kube-proxy's countEndpointsAndComments: DNAT rules in KUBE-SEP- chains, and how many carry a comment. */
  function endpointsAndComments(text: string): { endpoints: number; comments: number } {
    const dnat = text.split('\n').filter((l) => l.startsWith('-A KUBE-SEP-') && l.includes('-j DNAT'));
    return { endpoints: dnat.length, comments: dnat.filter((l) => l.includes('--comment')).length };
  }
  const holds = (text: string, line: string) => {
    const want: NormalRule | undefined = normalRuleset(`*nat\n${line}\nCOMMIT\n`).get('nat')?.rules.values().next().value?.[0];
    const chain = line.split(' ')[1]!;
    return (normalRuleset(text).get('nat')?.rules.get(chain) ?? []).some((r) => r.join(' ') === want?.join(' '));
  };

  it('998 endpoints: every endpoint rule keeps its comment', () => {
    const text = rules(false);
    expect(endpointsAndComments(text)).toEqual({ endpoints: 998, comments: 998 });
    expect(holds(text, '-A KUBE-SEP-DKGQUZGBKLTPAR56 -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80')).toBe(true);
  });
  it('1001 endpoints: no endpoint rule has a comment', () => {
    const text = rules(true);
    expect(endpointsAndComments(text)).toEqual({ endpoints: 1001, comments: 0 });
    expect(holds(text, '-A KUBE-SEP-DKGQUZGBKLTPAR56 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80')).toBe(true);
    expect(holds(text, '-A KUBE-SEP-RUVVH7YV3PHQBDOS -m tcp -p tcp -j DNAT --to-destination 203.0.113.4:8081')).toBe(true);
    expect(holds(text, '-A KUBE-SEP-DKGQUZGBKLTPAR56 -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80')).toBe(false);
  });
});
