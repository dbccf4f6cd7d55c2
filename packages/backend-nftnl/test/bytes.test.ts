// Address bytes for the encoder: parsed by the model's net module, so the encoder accepts exactly
// what the nft renderer accepts.
import { describe, expect, it } from 'vitest';
import { isAddrOrCidr } from '@kpb/backend-nft';
import { ipToBytes } from '@kpb/model/net';
import { addrBytes, ipv4Word, parsePrefix, PROTO_NAME, PROTO_NUM } from '../src/bytes.ts';

describe('addrBytes and parsePrefix', () => {
  it('network-order bytes of addresses and prefixes', () => {
    expect([...addrBytes('10.96.0.1', 'ip')]).toEqual([10, 96, 0, 1]);
    expect(addrBytes('fd00::1', 'ip6')).toHaveLength(16);
    expect(parsePrefix('10.128.0.0/9', 'ip')).toEqual({ addr: Uint8Array.of(10, 128, 0, 0), bits: 9 });
    expect(parsePrefix('fd00:1::/64', 'ip6').bits).toBe(64);
    expect(parsePrefix('10.0.0.1', 'ip').bits).toBeUndefined();
  });

  it('rejects the forms the model and the nft renderer reject', () => {
    const bad: [string, 'ip' | 'ip6'][] = [
      ['010.1.1.1', 'ip'], ['1.2.3', 'ip'], ['fd00::1', 'ip'], ['10.0.0.1', 'ip6'], ['::ffff:1.2.3.4', 'ip6'], ['::ffff:a00:1', 'ip6'],
      ['10.0.0.1/8', 'ip'], ['10.0.0.0/33', 'ip'], ['10.0.0.0/08', 'ip'], ['fd00::1/64', 'ip6'],
    ];
    for (const [value, family] of bad) {
      expect(isAddrOrCidr(value, family), value).toBe(false);
      expect(() => parsePrefix(value, family), value).toThrow();
    }
  });

  it('ipv4Word takes exactly the canonical IPv4 text ipToBytes takes, with the same bytes', () => {
    const texts = [
      '0.0.0.0', '255.255.255.255', '10.96.0.1', '1.2.3.4', '192.168.100.200', '100.64.0.10',
      '010.1.1.1', '1.02.3.4', '1.2.3.00', '256.1.1.1', '1.2.3.256', '1.2.3', '1.2.3.4.5', '1..2.3', '.1.2.3', '1.2.3.',
      '1.2.3.4 ', ' 1.2.3.4', '1.2.3.4/32', 'a.b.c.d', '1.2.3.-4', '::1', 'fd00::1', '1000.1.1.1', '', '1.2.3.4x',
    ];
    for (const t of texts) {
      const bytes = ipToBytes(t);
      const w = ipv4Word(t);
      if (bytes?.length === 4) expect(w, t).toBe(((bytes[0]! << 24) >>> 0) + (bytes[1]! << 16) + (bytes[2]! << 8) + bytes[3]!);
      else expect(w, t).toBe(-1);
    }
    for (let i = 0; i < 2000; i++) {
      const parts = [0, 1, 2, 3].map(() => Math.floor(Math.random() * 256));
      expect(ipv4Word(parts.join('.'))).toBe(((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!);
    }
  });

  it('protocol numbers both ways', () => {
    expect(PROTO_NUM).toEqual({ tcp: 6, udp: 17, sctp: 132 });
    expect(PROTO_NAME[132]).toBe('sctp');
  });
});
