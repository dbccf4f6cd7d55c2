// The byte and number forms of addresses in net.ts (used by the nft and nftnl backends).
import { describe, expect, it } from 'vitest';
import { cidrContains, ipFromBigInt, ipFromBytes, ipToBigInt, ipToBytes } from '../src/net.ts';

describe('addresses as bytes and numbers', () => {
  it('IPv4 and IPv6 to network-order bytes and back', () => {
    expect([...ipToBytes('10.96.0.1')!]).toEqual([10, 96, 0, 1]);
    expect([...ipToBytes('fd00::1:2')!]).toEqual([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2]);
    expect(ipFromBytes(Uint8Array.of(192, 0, 2, 255))).toBe('192.0.2.255');
    expect(ipFromBytes(ipToBytes('FD00:0:0::1')!)).toBe('fd00::1');
    expect(() => ipFromBytes(new Uint8Array(5))).toThrow(RangeError);
  });

  it('is as strict as parseIP', () => {
    for (const bad of ['010.1.1.1', '1.2.3', '1.2.3.4.5', '256.0.0.1', '::ffff:1.2.3.4', '::ffff:a00:1', 'fd00::1%eth0', '']) {
      expect(ipToBytes(bad), bad).toBeUndefined();
      expect(ipToBigInt(bad), bad).toBeUndefined();
    }
  });

  it('numbers: 32 and 128 bits, back to canonical text', () => {
    expect(ipToBigInt('0.0.1.2')).toBe(258n);
    expect(ipToBigInt('255.255.255.255')).toBe(0xffffffffn);
    expect(ipToBigInt('::1:0')).toBe(0x10000n);
    expect(ipFromBigInt(258n, 'IPv4')).toBe('0.0.1.2');
    expect(ipFromBigInt((1n << 128n) - 1n, 'IPv6')).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
    expect(ipFromBigInt(ipToBigInt('2001:db8::8:800:200c:417a')!, 'IPv6')).toBe('2001:db8::8:800:200c:417a');
  });

  it('cidrContains: prefixes of every length, bare addresses, the other family never inside', () => {
    expect(cidrContains('10.0.0.0/8', '10.255.1.2')).toBe(true);
    expect(cidrContains('10.0.0.0/8', '11.0.0.1')).toBe(false);
    expect(cidrContains('192.168.0.8/29', '192.168.0.15')).toBe(true);
    expect(cidrContains('192.168.0.8/29', '192.168.0.16')).toBe(false);
    expect(cidrContains('128.0.0.0/1', '200.1.1.1')).toBe(true);
    expect(cidrContains('128.0.0.0/1', '127.255.255.255')).toBe(false);
    expect(cidrContains('0.0.0.0/0', '1.2.3.4')).toBe(true);
    expect(cidrContains('1.2.3.4/32', '1.2.3.4')).toBe(true);
    expect(cidrContains('1.2.3.4', '1.2.3.4')).toBe(true);
    expect(cidrContains('1.2.3.4', '1.2.3.5')).toBe(false);
    expect(cidrContains('::/0', '1.2.3.4')).toBe(false);
    expect(cidrContains('0.0.0.0/0', '::1')).toBe(false);
    expect(cidrContains('fd00::/8', 'fd12::1')).toBe(true);
  });
});
