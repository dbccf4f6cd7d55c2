/**
 * Elements compared as the kernel's bytes (src/elements.ts): the hex texts kpb makes of a wanted
 * set's elements are the ones the listing holds after kpb's own op stream, for every kind of named
 * set and map of every layout; and a table decoded without elements finds the same differences,
 * object by object, as one decoded with them.
 */
import { describe, expect, it } from 'vitest';
import { rulesetBuilder } from '@kpb/backend-nft';
import type { NftLayout } from '@kpb/backend-nft';
import type { Listing, ListedSet } from '@kpb/native';
import { createNftnlBackend } from '../src/index.ts';
import { decodedDifferences } from '../src/compare.ts';
import { decodeTable } from '../src/decode.ts';
import { keyHex, listedDataElements, listedMapElements, sameElementTexts, wantedDataElements, wantedMapElements } from '../src/elements.ts';
import { listingOfStream } from './fake-listing.ts';
import { cluster, plan } from './helpers.ts';

const LAYOUTS: readonly NftLayout[] = ['flat', 'kube-proxy', 'maps'];
const P = plan(cluster(300));

function listed(layout: NftLayout): Listing {
  return listingOfStream(createNftnlBackend({ layout }).encodePlan(P), 7);
}

describe('element texts', () => {
  for (const layout of LAYOUTS) {
    it(`layout ${layout}: every named set's and map's wanted texts are its listed texts`, () => {
      const rs = rulesetBuilder({ layout })(P);
      const sets = new Map(listed(layout).sets.map((s) => [s.name, s]));
      let elements = 0;
      for (const s of rs.sets.filter((x) => !x.flags.includes('dynamic'))) {
        expect(sameElementTexts(s.elements.map((k) => keyHex(k, s.keyType, 'ip')), sets.get(s.name)!.elements.map((e) => e.key)), s.name).toBe(true);
        elements += s.elements.length;
      }
      for (const m of rs.maps) {
        expect(sameElementTexts(wantedMapElements(m.elements, m.keyType, 'ip'), listedMapElements(sets.get(m.name)!)), m.name).toBe(true);
        elements += m.elements.length;
      }
      for (const m of rs.dataMaps ?? []) {
        expect(sameElementTexts(wantedDataElements(m.elements, m.keyType, 'ip'), listedDataElements(sets.get(m.name)!)), m.name).toBe(true);
        elements += m.elements.length;
      }
      expect(elements).toBeGreaterThan(300);
    });
  }

  it('compares as sets: order does not matter, a repeat or a missing text does', () => {
    expect(sameElementTexts(['a', 'b', 'c'], ['c', 'a', 'b'])).toBe(true);
    expect(sameElementTexts(['a', 'a'], ['a', 'b'])).toBe(false);
    expect(sameElementTexts(['a', 'b'], ['a', 'a'])).toBe(false);
    expect(sameElementTexts(['a', 'a', 'b'], ['b', 'a'])).toBe(true);
    const many = Array.from({ length: 100 }, (_, i) => `k${i}`);
    expect(sameElementTexts(many, [...many].reverse())).toBe(true);
    expect(sameElementTexts(many, [...many.slice(1), 'k0', 'k0'].slice(0, 100))).toBe(true);
    expect(sameElementTexts([...many.slice(1), 'k1'], many)).toBe(false);
    expect(sameElementTexts(many, [...many.slice(1), 'x'])).toBe(false);
  });
});

/** Each named set or map with elements: one element changed (key, verdict or value) and one dropped; in those with comments, only one comment dropped. */
function handEdit(l: Listing): { edited: number; comments: number } {
  let edited = 0;
  let comments = 0;
  for (const s of l.sets.filter((x: ListedSet) => x.elements.length > 1 && !x.name.startsWith('__'))) {
    const commented = s.elements.find((e) => e.userdata !== undefined);
    if (commented) {
      delete commented.userdata;
      comments++;
      continue;
    }
    const first = s.elements[0]!;
    if (first.data !== undefined) first.data = `${first.data.slice(0, -6)}ff0000`;
    else if (first.verdict?.chain !== undefined) first.verdict = { ...first.verdict, chain: `${first.verdict.chain}x` };
    else first.key = `${first.key.slice(0, -2)}ff`;
    s.elements.pop();
    edited++;
  }
  return { edited, comments };
}

describe('a table decoded without elements', () => {
  for (const layout of LAYOUTS) {
    it(`layout ${layout}: the same differences as one decoded with them (none, then after hand edits)`, () => {
      const rs = rulesetBuilder({ layout })(P);
      const l = listed(layout);
      expect(decodedDifferences(decodeTable(l, { elements: false }), rs)).toEqual([]);
      const edits = handEdit(l);
      expect(edits.edited).toBeGreaterThan(0);
      if (layout === 'kube-proxy') expect(edits.comments).toBeGreaterThan(0);
      const full = decodedDifferences(decodeTable(l), rs);
      expect(full.length).toBeGreaterThan(0);
      expect(decodedDifferences(decodeTable(l, { elements: false }), rs)).toEqual(full);
    });
  }
});
