/** One chain per statement kind (and variant), for the golden expression tests. */
import type { NftFamily, NftRuleset, Statement } from '@kpb/backend-nft';

export function kitchenSink(family: NftFamily): NftRuleset {
  const v4 = family === 'ip';
  const a = (x4: string, x6: string) => (v4 ? x4 : x6);
  const cases: Record<string, Statement[]> = {
    'match-addr': [{ kind: 'match-addr', field: 'daddr', op: '==', value: a('10.96.0.1', 'fd00::1') }, { kind: 'verdict', verdict: { kind: 'accept' } }],
    'match-addr-neq-prefix-bytes': [{ kind: 'match-addr', field: 'saddr', op: '!=', value: a('10.128.0.0/16', 'fd00:1::/64') }, { kind: 'verdict', verdict: { kind: 'drop' } }],
    'match-addr-prefix-bits': [{ kind: 'match-addr', field: 'saddr', op: '==', value: a('10.128.0.0/9', 'fd00::/60') }, { kind: 'verdict', verdict: { kind: 'return' } }],
    'match-addr-loopback': [{ kind: 'match-addr', field: 'daddr', op: '!=', value: a('127.0.0.0/8', '::1') }, { kind: 'verdict', verdict: { kind: 'accept' } }],
    'match-addr-anon-interval': [
      { kind: 'match-addr-anon', field: 'saddr', op: '!=', values: a('203.0.113.0/24,192.168.1.0/24,198.51.100.10', 'fd00:2::/64,2001:db8::1').split(',') },
      { kind: 'verdict', verdict: { kind: 'drop' } },
    ],
    'match-addr-anon-hash': [{ kind: 'match-addr-anon', field: 'daddr', op: '==', values: a('192.0.2.1,192.0.2.9', '2001:db8::1,2001:db8::9').split(',') }, { kind: 'verdict', verdict: { kind: 'accept' } }],
    'match-addr-anon-one': [{ kind: 'match-addr-anon', field: 'saddr', op: '!=', values: [a('203.0.113.0/24', 'fd00:3::/64')] }, { kind: 'verdict', verdict: { kind: 'drop' } }],
    'match-addr-in': [{ kind: 'match-addr-in', field: 'saddr', set: 'affinity' }, { kind: 'verdict', verdict: { kind: 'goto', chain: 'target' } }],
    'match-addr-in-daddr': [{ kind: 'match-addr-in', field: 'daddr', set: 'cluster-ips' }, { kind: 'reject' }],
    'match-dport': [{ kind: 'match-addr', field: 'daddr', op: '==', value: a('10.96.0.1', 'fd00::1') }, { kind: 'match-dport', protocol: 'tcp', port: 80 }, { kind: 'match-addr', field: 'saddr', op: '!=', value: a('10.128.0.0/9', 'fd00::/60') }, { kind: 'verdict', verdict: { kind: 'jump', chain: 'target' } }],
    'match-dport-udp': [{ kind: 'match-dport', protocol: 'udp', port: 53 }],
    'match-dport-sctp': [{ kind: 'match-dport', protocol: 'sctp', port: 9 }],
    'match-l4proto': [{ kind: 'match-l4proto', protocol: 'udp' }, { kind: 'dnat', addr: a('10.1.0.5', 'fd00::5'), port: 8080 }],
    'match-fib-local': [{ kind: 'match-fib-local', field: 'saddr' }, { kind: 'match-fib-local', field: 'daddr' }, { kind: 'verdict', verdict: { kind: 'jump', chain: 'target' } }],
    'match-ct-new': [{ kind: 'match-ct-new' }, { kind: 'verdict', verdict: { kind: 'jump', chain: 'target' } }],
    'match-mark-clear': [{ kind: 'match-mark-clear', mark: 0x4000 }, { kind: 'verdict', verdict: { kind: 'return' } }],
    'match-numgen': [{ kind: 'match-numgen', mod: 3, value: 0 }, { kind: 'verdict', verdict: { kind: 'goto', chain: 'target' } }],
    'mark-or': [{ kind: 'mark-or', mark: 0x4000 }],
    'mark-xor': [{ kind: 'mark-xor', mark: 0x4000 }],
    'set-update': [{ kind: 'set-update', set: 'affinity', field: 'saddr' }],
    vmap: [{ kind: 'vmap', key: ['daddr', 'l4proto', 'dport'], map: 'ips' }],
    'vmap-proto-port': [{ kind: 'vmap', key: ['l4proto', 'dport'], map: 'ports' }],
    'vmap-proto-port-in-set': [{ kind: 'match-addr-in', field: 'daddr', set: 'cluster-ips' }, { kind: 'vmap', key: ['l4proto', 'dport'], map: 'ports' }],
    'match-key-in': [{ kind: 'match-key-in', key: ['daddr', 'l4proto', 'dport'], set: 'svc-ips' }, { kind: 'verdict', verdict: { kind: 'accept' } }],
    'match-key-in-ports': [{ kind: 'match-key-in', key: ['l4proto', 'dport'], set: 'node-ports' }, { kind: 'reject' }],
    'match-key-in-pairs': [{ kind: 'match-key-in', key: ['saddr', 'daddr'], set: 'pairs' }, { kind: 'mark-or', mark: 0x4000 }],
    'dnat-map': [{ kind: 'match-key-in', key: ['daddr', 'l4proto', 'dport'], set: 'svc-ips' }, { kind: 'dnat-map', key: ['daddr', 'l4proto', 'dport'], mod: 3, map: 'endpoints' }],
    'dnat-map-ports': [{ kind: 'mark-or', mark: 0x4000 }, { kind: 'dnat-map', key: ['l4proto', 'dport'], mod: 2, map: 'np-endpoints' }],
    'numgen-vmap': [{ kind: 'numgen-vmap', mod: 2, targets: [{ kind: 'goto', chain: 'target' }, { kind: 'jump', chain: 'target' }] }],
    dnat: [{ kind: 'match-l4proto', protocol: 'tcp' }, { kind: 'dnat', addr: a('10.1.0.5', 'fd00::5'), port: 8080 }],
    masquerade: [{ kind: 'masquerade', fullyRandom: true }],
    'masquerade-plain': [{ kind: 'masquerade', fullyRandom: false }],
    reject: [{ kind: 'reject' }],
    verdicts: [{ kind: 'verdict', verdict: { kind: 'drop' } }],
  };
  const addr = v4 ? 'ipv4_addr' : 'ipv6_addr';
  return {
    family,
    table: 'kube-proxy',
    comment: 'rules for kube-proxy',
    chains: [
      { name: 'nat-prerouting', base: { type: 'nat', hook: 'prerouting', priority: -100, policy: 'accept' }, rules: [{ statements: [{ kind: 'verdict', verdict: { kind: 'jump', chain: 'target' } }] }] },
      { name: 'filter-input', base: { type: 'filter', hook: 'input', priority: -110, policy: 'accept' }, comment: 'a chain comment', rules: [] },
      { name: 'target', rules: [] },
      ...Object.entries(cases).map(([name, statements]) => ({ name: `k-${name}`, rules: [{ statements }, { statements, comment: `commented ${name}` }] })),
    ],
    sets: [
      { name: 'cluster-ips', keyType: [addr], flags: [], comment: 'Active ClusterIPs', elements: [[a('10.96.0.1', 'fd00::1')], [a('10.96.0.2', 'fd00::2')]] },
      { name: 'affinity', keyType: [addr], flags: ['dynamic', 'timeout'], timeoutSeconds: 10800, elements: [] },
      { name: 'svc-ips', keyType: [addr, 'inet_proto', 'inet_service'], flags: [], elements: [[a('10.96.0.1', 'fd00::1'), 'tcp', 80], [a('10.96.0.2', 'fd00::2'), 'udp', 53]] },
      { name: 'node-ports', keyType: ['inet_proto', 'inet_service'], flags: [], elements: [['tcp', 30080]] },
      { name: 'pairs', keyType: [addr, addr], flags: [], elements: [[a('10.1.0.5', 'fd00::5'), a('10.1.0.5', 'fd00::5')]] },
    ],
    maps: [
      { name: 'ips', keyType: [addr, 'inet_proto', 'inet_service'], dataType: 'verdict', comment: 'ips', elements: [{ key: [a('10.96.0.1', 'fd00::1'), 'tcp', 80], verdict: { kind: 'goto', chain: 'target' } }, { key: [a('10.96.0.2', 'fd00::2'), 'udp', 53], comment: 'ns6/svc6', verdict: { kind: 'drop' } }] },
      { name: 'ports', keyType: ['inet_proto', 'inet_service'], dataType: 'verdict', elements: [{ key: ['udp', 30053], verdict: { kind: 'drop' } }, { key: ['tcp', 30054], comment: 'ns2/svc2:p80', verdict: { kind: 'goto', chain: 'target' } }] },
    ],
    // layout maps: service address (or NodePort) and endpoint index → endpoint
    dataMaps: [
      {
        name: 'endpoints',
        key: ['daddr', 'l4proto', 'dport'],
        keyType: [addr, 'inet_proto', 'inet_service', 'integer'],
        elements: [0, 1, 2].map((i) => ({ key: [a('10.96.0.1', 'fd00::1'), 'tcp', 80, i], addr: a(`10.1.0.${5 + i}`, `fd00::${5 + i}`), port: 8080 + i })),
      },
      { name: 'np-endpoints', key: ['l4proto', 'dport'], keyType: ['inet_proto', 'inet_service', 'integer'], elements: [{ key: ['tcp', 30080, 0], addr: a('10.1.0.5', 'fd00::5'), port: 8080 }, { key: ['tcp', 30080, 1], addr: a('10.1.0.6', 'fd00::6'), port: 443 }] },
    ],
  };
}
