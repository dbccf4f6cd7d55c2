/**
 * Ruleset → ruleset difference as an ordered list of operations that, applied in ONE
 * transaction to a kernel holding `a`, leaves exactly `b`. Backend-neutral: the operations are
 * walked by `writeOps` (ops.ts), into an `nft -f` script here (`renderOps`) and into the addon's
 * op stream by the nftnl backend.
 *
 * Order (references are always removed before the object they point at, and created before
 * anything points at them):
 *  1. `add-chain`, `add-set`, `add-map`: new objects (empty; set and map elements follow later)
 *  2. `flush-chain`: chains whose rules change, and stale chains (drops their references)
 *  3. `delete-elements`: stale and changed map/set elements (drops map → chain references)
 *  4. `delete-set`: redefined sets (their users were flushed in 2), then `add-set` again
 *  5. `add-elements`: new and changed elements
 *  6. `add-rules`: the rules of new and changed chains
 *  7. `delete-chain`: stale chains (now empty and unreferenced)
 *  8. `delete-set` (of a set or a map): stale sets and maps (now unreferenced)
 *
 * As an `nft -f` script, the form of these commands does not change what a sync costs at scale:
 * nft 1.0.6 fetches every table, chain, set, object and flowtable of the ruleset before running a
 * script with any `add rule`, `add`/`delete element` or `delete chain` (in a `table { chain { } }`
 * block or JSON too; only `add chain` and `flush chain` need none), and the kernel re-validates
 * the whole table at a commit that adds a jump, goto or nat. Measured at 10k services × 3
 * endpoints, a one-rule script costs as much as a one-service update. (There, Linux 6.18: the
 * chain dump is 5.2 MB in 161 messages for 45k chains, and the kernel's dump of chains, which
 * walks the chain list again for every message, was 38% of the run's CPU samples; the
 * commit's table validation ~100 ms. A `list chain` at the end of the script narrows the chain
 * dump to that chain but makes nft dump every set's elements, slower.) The commands never name a
 * rule by handle, index or position and the script is not run with `--echo`: either would make
 * nft fetch every rule too (and with `--echo`, every set element).
 */
import { ScriptWriter, dataMapType, formatKey, formatMapElement, formatRule, formatVerdict } from './render.ts';
import { writeOps } from './ops.ts';
import type { NftOp, NftSink } from './ops.ts';
import type { ElementKey, KeyType, NftChain, NftDataElement, NftDataMap, NftFamily, NftMap, NftMapElement, NftRule, NftRuleset, NftSet } from './ruleset.ts';
import { ruleSetRefs } from './ruleset.ts';

export interface RulesetDiff {
  /** Operations in execution order; empty when `a` and `b` are equal. */
  readonly ops: readonly NftOp[];
  /** Set when the difference cannot be expressed incrementally (a full apply is needed). */
  readonly fullReason?: string;
  /** Names of chains created, changed (flushed and refilled) and deleted. */
  readonly chains: { readonly added: readonly string[]; readonly changed: readonly string[]; readonly removed: readonly string[] };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function setDef(s: NftSet): string {
  return JSON.stringify([s.keyType, s.flags, s.timeoutSeconds ?? null, s.comment ?? null]);
}

function mapDef(m: NftMap): string {
  return JSON.stringify([m.keyType, m.dataType, m.comment ?? null]);
}

const byName = <T extends { readonly name: string }>(xs: readonly T[]): Map<string, T> => new Map(xs.map((x) => [x.name, x]));

/** Why `a` cannot become `b` incrementally (table, map or chain definitions differ), if it cannot. */
function definitionsDiffer(a: NftRuleset, b: NftRuleset): string | undefined {
  if (a.family !== b.family || a.table !== b.table) return 'family or table differs';
  if ((a.comment ?? null) !== (b.comment ?? null)) return 'table comment differs';
  const aMaps = byName(a.maps);
  for (const m of b.maps) {
    const old = aMaps.get(m.name);
    if (old && mapDef(old) !== mapDef(m)) return `map ${m.name} definition differs`;
  }
  const aData = byName(a.dataMaps ?? []);
  for (const m of b.dataMaps ?? []) {
    const old = aData.get(m.name);
    if (old && (dataMapType(old, a.family) !== dataMapType(m, b.family) || (old.comment ?? null) !== (m.comment ?? null))) return `map ${m.name} definition differs`;
  }
  const aChains = byName(a.chains);
  for (const c of b.chains) {
    const old = aChains.get(c.name);
    if (old && (!same(old.base, c.base) || (old.comment ?? null) !== (c.comment ?? null))) return `chain ${c.name} definition differs`;
  }
  return undefined;
}

/** Element operations: deletions (step 3) and additions (step 5) per map and set. */
interface ElementOps {
  readonly deletes: NftOp[];
  readonly adds: NftOp[];
}

function mapElementOps(a: NftRuleset, b: NftRuleset, out: ElementOps): void {
  const fam = b.family;
  const aMaps = byName(a.maps);
  for (const m of b.maps) {
    const old = aMaps.get(m.name)?.elements ?? [];
    // An element whose verdict or comment changes is deleted and added again.
    const value = (e: NftMapElement) => `${e.comment ?? ''}\n${formatVerdict(e.verdict)}`;
    const before = new Map(old.map((e) => [formatKey(e.key, m.keyType, fam), value(e)]));
    const del: ElementKey[] = [];
    const add: NftMapElement[] = [];
    const now = new Set<string>();
    for (const e of m.elements) {
      const k = formatKey(e.key, m.keyType, fam);
      now.add(k);
      const v = before.get(k);
      if (v === undefined) add.push(e);
      else if (v !== value(e)) {
        del.push(e.key);
        add.push(e);
      }
    }
    for (const e of old) if (!now.has(formatKey(e.key, m.keyType, fam))) del.push(e.key);
    if (del.length) out.deletes.push({ op: 'delete-elements', target: 'map', name: m.name, keyType: m.keyType, keys: del });
    if (add.length) out.adds.push({ op: 'add-elements', target: 'map', name: m.name, keyType: m.keyType, elements: add });
  }
}

/** Data-map element operations: an element whose endpoint changes is deleted and added again. */
function dataMapElementOps(a: NftRuleset, b: NftRuleset, out: ElementOps): void {
  const fam = b.family;
  const aMaps = byName(a.dataMaps ?? []);
  for (const m of b.dataMaps ?? []) {
    const old = aMaps.get(m.name)?.elements ?? [];
    const value = (e: NftDataElement) => `${e.addr} . ${e.port}`;
    const before = new Map(old.map((e) => [formatKey(e.key, m.keyType, fam), value(e)]));
    const del: ElementKey[] = [];
    const add: NftDataElement[] = [];
    const now = new Set<string>();
    for (const e of m.elements) {
      const k = formatKey(e.key, m.keyType, fam);
      now.add(k);
      const v = before.get(k);
      if (v === undefined) add.push(e);
      else if (v !== value(e)) {
        del.push(e.key);
        add.push(e);
      }
    }
    for (const e of old) if (!now.has(formatKey(e.key, m.keyType, fam))) del.push(e.key);
    if (del.length) out.deletes.push({ op: 'delete-elements', target: 'map', name: m.name, keyType: m.keyType, keys: del });
    if (add.length) out.adds.push({ op: 'add-elements', target: 'data-map', name: m.name, keyType: m.keyType, elements: add });
  }
}

function setElementOps(a: NftRuleset, b: NftRuleset, redefined: ReadonlySet<string>, out: ElementOps): void {
  const fam = b.family;
  const aSets = byName(a.sets);
  for (const s of b.sets) {
    if (redefined.has(s.name)) {
      // Deleted and created again: every element is new.
      if (s.elements.length) out.adds.push({ op: 'add-elements', target: 'set', name: s.name, keyType: s.keyType, keys: s.elements });
      continue;
    }
    const old = aSets.get(s.name)?.elements ?? [];
    const before = new Set(old.map((k) => formatKey(k, s.keyType, fam)));
    const now = new Set(s.elements.map((k) => formatKey(k, s.keyType, fam)));
    const add = s.elements.filter((k) => !before.has(formatKey(k, s.keyType, fam)));
    const del = old.filter((k) => !now.has(formatKey(k, s.keyType, fam)));
    if (del.length) out.deletes.push({ op: 'delete-elements', target: 'set', name: s.name, keyType: s.keyType, keys: del });
    if (add.length) out.adds.push({ op: 'add-elements', target: 'set', name: s.name, keyType: s.keyType, keys: add });
  }
}

/** Chains of `b` that `a` lacks, chains of `a` that `b` lacks, and chains whose rules must be rewritten. */
function chainChanges(a: NftRuleset, b: NftRuleset, redefined: ReadonlySet<string>) {
  const aChains = byName(a.chains);
  const bChains = byName(b.chains);
  const rulesText = (c: NftChain) => c.rules.map((r) => formatRule(r, b.family)).join('\n');
  // A chain using a redefined set is flushed too: the set cannot be deleted while a rule uses it.
  const usesRedefined = (c: NftChain) => c.rules.some((r) => ruleSetRefs(r).some((s) => redefined.has(s)));
  return {
    added: b.chains.filter((c) => !aChains.has(c.name)),
    removed: a.chains.filter((c) => !bChains.has(c.name)),
    changed: b.chains.filter((c) => {
      const old = aChains.get(c.name);
      return old !== undefined && (rulesText(old) !== rulesText(c) || usesRedefined(old));
    }),
  };
}

export function diffRulesets(a: NftRuleset, b: NftRuleset): RulesetDiff {
  const fullReason = definitionsDiffer(a, b);
  if (fullReason) return { ops: [], fullReason, chains: { added: [], changed: [], removed: [] } };
  const aSets = byName(a.sets);
  const aMaps = byName(a.maps);
  const bSets = byName(b.sets);
  const bMaps = byName(b.maps);
  const redefinedSets = b.sets.filter((s) => aSets.has(s.name) && setDef(aSets.get(s.name)!) !== setDef(s));
  const redefined = new Set(redefinedSets.map((s) => s.name));
  const chains = chainChanges(a, b, redefined);
  const elements: ElementOps = { deletes: [], adds: [] };
  mapElementOps(a, b, elements);
  dataMapElementOps(a, b, elements);
  setElementOps(a, b, redefined, elements);
  const aData = byName(a.dataMaps ?? []);
  const bData = byName(b.dataMaps ?? []);

  const ops: NftOp[] = [];
  // 1. new objects
  for (const c of chains.added) ops.push({ op: 'add-chain', chain: { ...c, rules: [] } });
  for (const s of b.sets) if (!aSets.has(s.name)) ops.push({ op: 'add-set', set: { ...s, elements: [] } });
  for (const m of b.maps) if (!aMaps.has(m.name)) ops.push({ op: 'add-map', map: { ...m, elements: [] } });
  for (const m of b.dataMaps ?? []) if (!aData.has(m.name)) ops.push({ op: 'add-data-map', map: { ...m, elements: [] } });
  // 2. flush changed and stale chains
  for (const c of chains.changed) ops.push({ op: 'flush-chain', chain: c.name });
  for (const c of chains.removed) if (c.rules.length) ops.push({ op: 'flush-chain', chain: c.name });
  // 3. element deletions
  ops.push(...elements.deletes);
  // 4. redefined sets
  for (const s of redefinedSets) ops.push({ op: 'delete-set', target: 'set', name: s.name }, { op: 'add-set', set: { ...s, elements: [] } });
  // 5. element additions
  ops.push(...elements.adds);
  // 6. rules of new and changed chains
  for (const c of [...chains.added, ...chains.changed]) if (c.rules.length) ops.push({ op: 'add-rules', chain: c.name, rules: c.rules });
  // 7. stale chains; 8. stale sets and maps
  for (const c of chains.removed) ops.push({ op: 'delete-chain', chain: c.name });
  for (const s of a.sets) if (!bSets.has(s.name)) ops.push({ op: 'delete-set', target: 'set', name: s.name });
  for (const m of a.maps) if (!bMaps.has(m.name)) ops.push({ op: 'delete-set', target: 'map', name: m.name });
  for (const m of a.dataMaps ?? []) if (!bData.has(m.name)) ops.push({ op: 'delete-set', target: 'map', name: m.name });

  const names = (cs: readonly NftChain[]) => cs.map((c) => c.name);
  return { ops, chains: { added: names(chains.added), changed: names(chains.changed), removed: names(chains.removed) } };
}

/** An NftSink that records each command it receives as one readable line (for `describeOp`). */
class DescribingSink implements NftSink {
  readonly lines: string[] = [];
  readonly #family: NftFamily;
  constructor(family: NftFamily) {
    this.#family = family;
  }
  addTable(): void {
    this.lines.push('add table');
  }
  deleteTable(): void {
    this.lines.push('delete table');
  }
  addChain(chain: NftChain): void {
    this.lines.push(`add chain ${chain.name}`);
  }
  flushChain(name: string): void {
    this.lines.push(`flush chain ${name}`);
  }
  deleteChain(name: string): void {
    this.lines.push(`delete chain ${name}`);
  }
  addSet(set: NftSet): void {
    this.lines.push(`add set ${set.name}`);
  }
  addMap(map: NftMap): void {
    this.lines.push(`add map ${map.name}`);
  }
  addDataMap(map: NftDataMap): void {
    this.lines.push(`add map ${map.name}`);
  }
  deleteSet(kind: 'set' | 'map', name: string): void {
    this.lines.push(`delete ${kind} ${name}`);
  }
  addRules(chain: string, rules: readonly NftRule[]): void {
    this.lines.push(`add ${rules.length} rule(s) to ${chain}`);
  }
  addSetElements(name: string, _keyType: readonly KeyType[], keys: readonly ElementKey[]): void {
    this.lines.push(`add ${keys.length} element(s) to set ${name}`);
  }
  addMapElements(name: string, keyType: readonly KeyType[], elements: readonly NftMapElement[]): void {
    const shown = elements.slice(0, 3).map((e) => formatMapElement({ keyType }, e, this.#family));
    this.lines.push(`add ${elements.length} element(s) to map ${name}: ${shown.join(', ')}`);
  }
  addDataMapElements(name: string, _keyType: readonly KeyType[], elements: readonly NftDataElement[]): void {
    this.lines.push(`add ${elements.length} element(s) to map ${name}`);
  }
  deleteElements(target: 'set' | 'map', name: string, _keyType: readonly KeyType[], keys: readonly ElementKey[]): void {
    this.lines.push(`delete ${keys.length} element(s) from ${target} ${name}`);
  }
}

/** Readable one-line form of an operation (the diff tests state op orders with it), through the op walk. */
export function describeOp(op: NftOp, family: NftFamily): string {
  const sink = new DescribingSink(family);
  writeOps(sink, [op]);
  return sink.lines.join('\n');
}

/** The operations as one `nft -f` script (one transaction). */
export function renderOps(ops: readonly NftOp[], family: NftRuleset['family'], table: NftRuleset['table'] = 'kube-proxy'): string {
  const w = new ScriptWriter(family, table);
  writeOps(w, ops);
  return w.text();
}
