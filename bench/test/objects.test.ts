// The objects/* figures' counting of the kernel's listings.
import { describe, expect, it } from 'vitest';
import { countIptablesSave, countNftJson } from '../src/objects.ts';

describe('kernel object counts', () => {
  it('counts chains, rules, named sets and maps and their elements of an nft -j listing', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { table: { family: 'ip', name: 'kube-proxy' } },
        { chain: { name: 'services' } },
        { chain: { name: 'masquerading' } },
        { set: { name: 'service-ips-3', elem: [{ concat: ['10.96.0.1', 'tcp', 80] }, { concat: ['10.96.0.2', 'tcp', 80] }] } },
        { set: { name: 'reject-ips' } },
        { map: { name: 'service-endpoints', elem: [[{ concat: ['10.96.0.1', 'tcp', 80, 0] }, { concat: ['10.1.0.1', 8080] }]] } },
        { rule: { chain: 'services', expr: [] } },
        { rule: { chain: 'services', expr: [] } },
        { rule: { chain: 'masquerading', expr: [] } },
      ],
    });
    expect(countNftJson(json)).toEqual({ chains: 2, rules: 3, sets: 3, elements: 3 });
  });

  it('counts chains and rules of iptables-save text', () => {
    const text = ['*nat', ':PREROUTING ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]', '-A PREROUTING -j KUBE-SERVICES', '-A KUBE-SERVICES -j RETURN', 'COMMIT', ''].join('\n');
    expect(countIptablesSave(text)).toEqual({ chains: 2, rules: 2, sets: 0, elements: 0 });
  });
});
