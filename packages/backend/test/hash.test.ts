import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base32, hashName } from '../src/hash.ts';

describe('kube-proxy name hashes', () => {
  it('match kube-proxy test vectors', () => {
    expect(hashName('ns1/svc1:p80tcp', 16)).toBe('XPGD46QRK7WJZT7O');
    expect(hashName('ns1/svc1:p80tcp10.180.0.1:80', 16)).toBe('SXIVWICOYRO3J4NJ');
    expect(hashName('ns5/svc5:p80tcp', 16)).toBe('NUKIZ6OKUXPJNT4C');
  });
  it('encode RFC 4648 base32 test vectors', () => {
    expect(base32(Buffer.from('foobar'), 10)).toBe('MZXW6YTBOI');
    expect(base32(Buffer.from('f'), 2)).toBe('MY');
  });
  it('cuts to the asked length', () => {
    const digest = createHash('sha256').update('x').digest();
    expect(hashName('x', 8)).toBe(base32(digest, 16).slice(0, 8));
  });
});
