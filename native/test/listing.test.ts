/**
 * decodeListing names what the addon's JSON gives as numbers: chain hooks and policies, element
 * verdicts (with their chain); numbers it has no name for stay numbers.
 */
import { describe, expect, it } from 'vitest';
import { decodeListing } from '../lib/listing.ts';
import type { RawListing } from '../lib/listing.ts';

const raw = (): RawListing => ({
  exists: true,
  generation: 7,
  family: 'ip',
  table: { name: 't', handle: 1, flags: 0, use: 1 },
  chains: [
    { name: 'pre', handle: 2, prio: -100, type: 'nat', use: 0, flags: 1, rules: [], hook: 0, policy: 1 },
    { name: 'odd', handle: 3, prio: 0, type: 'filter', use: 0, flags: 1, rules: [], hook: 17, policy: 0 },
    { name: 'plain', handle: 4, use: 1, flags: 0, rules: [] },
  ],
  sets: [{
    name: 'm', handle: 5, flags: 8, keyType: 7, keyLen: 4, elements: [
      { key: '0a000001', verdict: -3, chain: 'svc-a' },
      { key: '0a000002', verdict: 0 },
      { key: '0a000003', verdict: 99 },
      { key: '0a000004' },
    ],
  }],
});

describe('decodeListing', () => {
  it('names hooks and policies, leaving unknown hooks and plain chains as they are', () => {
    const l = decodeListing(raw());
    expect(l.chains.map((c) => [c.hook, c.policy])).toEqual([['prerouting', 'accept'], [17, 'drop'], [undefined, undefined]]);
    expect(Object.keys(l.chains[0]!)).toEqual(['name', 'handle', 'prio', 'type', 'use', 'flags', 'rules', 'hook', 'policy']);
  });

  it('names element verdicts and moves their chain into the verdict', () => {
    const l = decodeListing(raw());
    expect(l.sets[0]!.elements).toEqual([
      { key: '0a000001', verdict: { kind: 'jump', chain: 'svc-a' } },
      { key: '0a000002', verdict: { kind: 'drop' } },
      { key: '0a000003', verdict: { kind: 99 } },
      { key: '0a000004' },
    ]);
    expect('chain' in l.sets[0]!.elements[0]!).toBe(false);
  });
});
