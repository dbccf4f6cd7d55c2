/**
 * decodeListing: the addon's hex attribute values → numbers and strings by the EXPR schema
 * (little-endian numbers of 1, 2, 4 and 8 bytes, s32 signed, u64 above 2^53 as a decimal
 * string, NUL-terminated strings in ASCII and UTF-8, bytes and unknown ids left as hex).
 */
import { describe, expect, it } from 'vitest';
import { decodeListing } from '../lib/listing.ts';
import type { RawListing } from '../lib/listing.ts';

const withExprs = (exprs: { name: string; raw: Record<string, string> }[]): RawListing => ({
  exists: true,
  generation: 7,
  family: 'ip',
  table: { name: 't', handle: 1, flags: 0, use: 1 },
  chains: [{ name: 'c', handle: 2, use: 0, flags: 0, rules: [{ handle: 3, exprs, text: '' }] }],
  sets: [],
});

const attrsOf = (raw: Record<string, string>, name = 'immediate') => decodeListing(withExprs([{ name, raw }])).chains[0]!.rules[0]!.exprs[0]!.attrs;

describe('decodeListing', () => {
  it('reads little-endian numbers of every width', () => {
    expect(attrsOf({ 1: '2a000000' }, 'payload')).toEqual({ dreg: 42 });
    expect(attrsOf({ 1: 'ff' }, 'payload')).toEqual({ dreg: 255 });
    expect(attrsOf({ 1: '3412' }, 'payload')).toEqual({ dreg: 0x1234 });
    expect(attrsOf({ 1: 'feffffff' }, 'payload')).toEqual({ dreg: 0xfffffffe });
    expect(attrsOf({ 1: '0102030405060000' }, 'counter')).toEqual({ packets: 0x060504030201 });
  });

  it('reads s32 as signed and u64 above 2^53 as a decimal string', () => {
    expect(attrsOf({ 3: 'fdffffff' })).toEqual({ verdict: -3 });
    expect(attrsOf({ 3: '01000000' })).toEqual({ verdict: 1 });
    expect(attrsOf({ 1: 'ffffffffffff1f00', 2: '0000000000002000' }, 'counter')).toEqual({ packets: 2 ** 53 - 1, bytes: '9007199254740992' });
    expect(attrsOf({ 1: 'ffffffffffffffff' }, 'counter')).toEqual({ packets: '18446744073709551615' });
  });

  it('reads strings up to their NUL, in UTF-8, and leaves bytes, odd widths and unknown ids as hex', () => {
    expect(attrsOf({ 4: '6b7562652d70726f787900' })).toEqual({ chain: 'kube-proxy' });
    expect(attrsOf({ 4: '6162' })).toEqual({ chain: 'ab' });
    expect(attrsOf({ 4: '63c3a9006869' })).toEqual({ chain: 'cé' });
    expect(attrsOf({ 2: '0a000001', 5: '010203', 30: 'beef' })).toEqual({ data: '0a000001', chain_id: '010203', attr30: 'beef' });
  });
});
