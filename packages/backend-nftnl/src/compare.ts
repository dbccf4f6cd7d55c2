/**
 * Does the addon's listing hold an NftRuleset? Compared object by object, keyed by name, on the
 * decoded statements and element values: no text form of every object is made. Only an object
 * that differs is printed as the nft backend's canonical objects (both sides), so that its
 * differences read exactly as those of a verify through `nft list table`.
 */
import type { Difference, DriftCheck } from '@kpb/backend';
import { canonKey, canonOrder, chainCanon, compareObject, dataMapCanon, formatDataElement, formatRule, mapCanon, normalizeRuleText, setCanon, tableCanon } from '@kpb/backend-nft';
import type { CanonObject, ElementKey, NftChain, NftDataMap, NftFamily, NftMap, NftRule, NftRuleset, NftSet } from '@kpb/backend-nft';
import type { Listing } from '@kpb/native';
import { decodedChainCanon, decodedTableCanon, decodeSet, decodeTable } from './decode.ts';
import { keyHex, listedDataElements, listedMapElements, sameElementTexts, wantedDataElements, wantedMapElements } from './elements.ts';
import type { DecodedChain, DecodedRule, DecodedTable } from './decode.ts';

/** Structural equality of plain values (statements, verdicts, chain specs); undefined fields count as absent. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let defined = 0;
  for (const k in x) {
    if (x[k] === undefined) continue;
    defined++;
    if (!sameValue(x[k], y[k])) return false;
  }
  for (const k in y) if (y[k] !== undefined) defined--;
  return defined === 0;
}

/**
 * The same rule: the same statements, or (an anonymous address set, which the kernel stores as
 * merged intervals, and as a plain match when it has one value) the same text once merged, as
 * the canonical form compares them.
 */
function sameRule(w: NftRule, f: DecodedRule, family: NftFamily): boolean {
  if ('unknown' in f) return false;
  if (w.comment === f.comment && sameValue(w.statements, f.statements)) return true;
  return normalizeRuleText(formatRule(w, family)) === normalizeRuleText(formatRule(f, family));
}

function sameChain(w: NftChain, f: DecodedChain, family: NftFamily): boolean {
  if (w.comment !== f.chain.comment || !sameValue(w.base, f.chain.base) || w.rules.length !== f.rules.length) return false;
  return w.rules.every((r, i) => sameRule(r, f.rules[i]!, family));
}

const keyText = (k: ElementKey): string => k.join(' . ');

/** The heads of two sets or maps (everything but the elements) are the same. */
const sameHead = <T extends { readonly elements: readonly unknown[] }>(w: T, f: T): boolean => sameValue({ ...w, elements: [] }, { ...f, elements: [] });

function sameSet(w: NftSet, f: NftSet, t: DecodedTable): boolean {
  if (!sameHead(w, f)) return false;
  if (w.flags.includes('dynamic')) return true;
  const listed = t.listedSets?.get(f.name);
  if (listed) return sameElementTexts(w.elements.map((k) => keyHex(k, w.keyType, t.family)), listed.elements.map((e) => e.key));
  return sameElementTexts(w.elements.map(keyText), f.elements.map(keyText));
}

const mapElementText = (e: NftMap['elements'][number]): string =>
  `${keyText(e.key)}${e.comment !== undefined ? ` comment ${JSON.stringify(e.comment)}` : ''} : ${e.verdict.kind} ${'chain' in e.verdict ? e.verdict.chain : ''}`;

function sameMap(w: NftMap, f: NftMap, t: DecodedTable): boolean {
  if (!sameHead(w, f)) return false;
  const listed = t.listedSets?.get(f.name);
  if (listed) return sameElementTexts(wantedMapElements(w.elements, w.keyType, t.family), listedMapElements(listed));
  return sameElementTexts(w.elements.map(mapElementText), f.elements.map(mapElementText));
}

/** The same data map: definition, then the elements as nft lists them (addresses canonical). */
function sameDataMap(w: NftDataMap, f: NftDataMap, t: DecodedTable): boolean {
  if (!sameHead(w, f)) return false;
  const listed = t.listedSets?.get(f.name);
  if (listed) return sameElementTexts(wantedDataElements(w.elements, w.keyType, t.family), listedDataElements(listed));
  return sameElementTexts(w.elements.map((e) => formatDataElement(w, e, t.family)), f.elements.map((e) => formatDataElement(f, e, t.family)));
}

/** A found set, map or data map with its elements: as decoded, or (a table decoded without elements) decoded again from the listing. */
function withElements<K extends 'set' | 'map' | 'dataMap', T extends { readonly name: string }>(t: DecodedTable, f: T, kind: K): T {
  const listed = t.listedSets?.get(f.name);
  if (!listed) return f;
  const d = decodeSet(listed, t.family) as Partial<Record<K, T>>;
  return d[kind] ?? f;
}

/** The differences of one object (its canonical forms compared); none for a false alarm of the fast check. */
function objectDifferences(w: CanonObject, f: CanonObject | undefined): Difference[] {
  const out: Difference[] = [];
  compareObject(w, f, out);
  return out;
}

type Named = Pick<CanonObject, 'kind' | 'name'>;

/** Objects of one kind: wanted by name, found by name, how to tell them equal and print them. */
interface Kind<W, F> {
  readonly kind: CanonObject['kind'];
  readonly wanted: readonly W[];
  readonly found: ReadonlyMap<string, F>;
  readonly name: (w: W) => string;
  readonly same: (w: W, f: F) => boolean;
  readonly canonWanted: (w: W) => CanonObject;
  readonly canonFound: (f: F) => CanonObject;
}

/** Walks the objects of one kind: differing objects' differences, and names found but not wanted. */
function compareKind<W, F>(k: Kind<W, F>, changed: { at: Named; diffs: Difference[] }[], unexpected: Named[]): void {
  const wantedNames = new Set<string>();
  for (const w of k.wanted) {
    const name = k.name(w);
    wantedNames.add(name);
    const f = k.found.get(name);
    if (f !== undefined && k.same(w, f)) continue;
    const diffs = f === undefined ? [{ kind: 'missing' as const, object: canonKey({ kind: k.kind, name }) }] : objectDifferences(k.canonWanted(w), k.canonFound(f));
    if (diffs.length) changed.push({ at: { kind: k.kind, name }, diffs });
  }
  for (const name of k.found.keys()) if (!wantedNames.has(name)) unexpected.push({ kind: k.kind, name });
}

/** Object-by-object differences between a listed table and `rs`, in the canonical comparison's order. */
function tableDifferences(t: DecodedTable, rs: NftRuleset): Difference[] {
  const changed: { at: Named; diffs: Difference[] }[] = [];
  const unexpected: Named[] = [];
  changed.push({ at: tableCanon(rs), diffs: objectDifferences(tableCanon(rs), decodedTableCanon(t)) });
  const fam = rs.family;
  compareKind({ kind: 'chain', wanted: rs.chains, found: t.chains, name: (c) => c.name, same: (w, f) => sameChain(w, f, fam), canonWanted: (w) => chainCanon(w, fam), canonFound: (f) => decodedChainCanon(f, fam) }, changed, unexpected);
  const sets = { kind: 'set' as const, wanted: rs.sets, found: t.sets, name: (s: NftSet) => s.name };
  compareKind({ ...sets, same: (w, f) => sameSet(w, f, t), canonWanted: (w) => setCanon(w, fam), canonFound: (f) => setCanon(withElements(t, f, 'set'), fam) }, changed, unexpected);
  const maps = { kind: 'map' as const, wanted: rs.maps, found: t.maps, name: (m: NftMap) => m.name };
  compareKind({ ...maps, same: (w, f) => sameMap(w, f, t), canonWanted: (w) => mapCanon(w, fam), canonFound: (f) => mapCanon(withElements(t, f, 'map'), fam) }, changed, unexpected);
  const dataMaps = { kind: 'map' as const, wanted: rs.dataMaps ?? [], found: t.dataMaps, name: (m: NftDataMap) => m.name };
  compareKind({ ...dataMaps, same: (w, f) => sameDataMap(w, f, t), canonWanted: (w) => dataMapCanon(w, fam), canonFound: (f) => dataMapCanon(withElements(t, f, 'dataMap'), fam) }, changed, unexpected);
  changed.sort((a, b) => canonOrder(a.at, b.at));
  unexpected.sort(canonOrder);
  return [...changed.flatMap((c) => c.diffs), ...unexpected.map((u): Difference => ({ kind: 'unexpected', object: canonKey(u) }))];
}

/** Everything `rs` holds is missing from a table that does not exist, in canonical order. */
function allMissing(rs: NftRuleset): Difference[] {
  const named: Named[] = [tableCanon(rs), ...rs.chains.map((c) => ({ kind: 'chain' as const, name: c.name })), ...rs.sets.map((s) => ({ kind: 'set' as const, name: s.name })), ...rs.maps.map((m) => ({ kind: 'map' as const, name: m.name })), ...(rs.dataMaps ?? []).map((m) => ({ kind: 'map' as const, name: m.name }))];
  return named.sort(canonOrder).map((o) => ({ kind: 'missing', object: canonKey(o) }));
}

/** What differs between kpb's table, decoded (undefined: it does not exist), and `rs`, object by object (none: it holds `rs`). */
export function decodedDifferences(t: DecodedTable | undefined, rs: NftRuleset): Difference[] {
  return t ? tableDifferences(t, rs) : allMissing(rs);
}

/** Does kpb's table, decoded, hold exactly `rs`? (The nftnl drift check; `listingHolds` of an `nft list table` output.) */
export function decodedHoldsRuleset(t: DecodedTable | undefined, rs: NftRuleset, readBackBecause?: string): DriftCheck {
  const because = readBackBecause ? { readBackBecause } : {};
  const differences = decodedDifferences(t, rs);
  return differences.length === 0 ? { holdsFrom: true, ...because } : { holdsFrom: false, differences, ...because };
}

/** Does this addon listing hold exactly `rs`? (`decodedHoldsRuleset` of the listing, decoded.) */
export function listingHoldsRuleset(listing: Listing, rs: NftRuleset, readBackBecause?: string): DriftCheck {
  return decodedHoldsRuleset(decodeTable(listing), rs, readBackBecause);
}
