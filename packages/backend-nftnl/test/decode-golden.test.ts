/**
 * The decoder against what nft 1.0.6 stores (no kernel needed): the kitchen sink's golden
 * listing (test/__golden__, test/make-golden.ts) decodes back to the kitchen sink's statements
 * (printed as nft lists them), and its named sets and maps to the kitchen sink's, data maps too.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dataMapCanon, formatRule, mapCanon, normalizeRuleText, setCanon } from '@kpb/backend-nft';
import type { ListedExpr, ListedSet, Listing } from '@kpb/native';
import { decodeTable } from '../src/decode.ts';
import { kitchenSink } from './kitchen.ts';

interface Golden {
  chains: { name: string; userdata?: string; rules: { userdata?: string; exprs: ListedExpr[] }[] }[];
  sets: Omit<ListedSet, 'handle'>[];
}

function goldenListing(family: 'ip' | 'ip6'): Listing {
  const golden = JSON.parse(readFileSync(new URL(`__golden__/exprs-${family}.json`, import.meta.url), 'utf8')) as Golden;
  return {
    exists: true,
    generation: 1,
    family,
    table: { name: 'kube-proxy', handle: 1, flags: 0, use: 0 },
    chains: golden.chains.map((c, i) => ({ name: c.name, handle: i, use: 0, flags: 0, ...(c.userdata ? { userdata: c.userdata } : {}), rules: c.rules.map((r, k) => ({ handle: k, ...r })) })),
    sets: golden.sets.map((s, i) => ({ ...s, handle: i })),
  };
}

for (const family of ['ip', 'ip6'] as const) {
  describe(`decoder vs nft 1.0.6 (${family})`, () => {
    const rs = kitchenSink(family);
    const table = decodeTable(goldenListing(family))!;

    it("every rule of the kitchen sink's chains decodes to its statements", () => {
      for (const c of rs.chains) {
        const found = table.chains.get(c.name)!.rules;
        expect(found.map((r) => ('unknown' in r ? r.unknown : normalizeRuleText(formatRule(r, family)))), c.name).toEqual(c.rules.map((r) => normalizeRuleText(formatRule(r, family))));
      }
    });

    it('named sets, verdict maps and data maps decode to the kitchen sink ones', () => {
      for (const s of rs.sets) expect(setCanon(table.sets.get(s.name)!, family), s.name).toEqual(setCanon(s, family));
      for (const m of rs.maps) expect(mapCanon(table.maps.get(m.name)!, family), m.name).toEqual(mapCanon(m, family));
      for (const m of rs.dataMaps ?? []) expect(table.dataMaps.get(m.name), m.name).toEqual(m);
      for (const m of rs.dataMaps ?? []) expect(dataMapCanon(table.dataMaps.get(m.name)!, family)).toEqual(dataMapCanon(m, family));
    });
  });
}
