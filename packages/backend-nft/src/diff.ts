/**
 * Ruleset → ruleset difference as an ordered list of operations that, applied in ONE
 * transaction to a kernel holding `a`, leaves exactly `b`. Backend-neutral: the nft backend
 * renders the operations as an `nft -f` script (`renderOps`), the nftnl backend as netlink
 * messages.
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
 *  8. `delete-set` / `delete-map`: stale sets and maps (now unreferenced)
 */
import { ScriptWriter, formatKey, formatMapElement, formatRule, formatVerdict } from './render.ts';
import type { ElementKey, KeyType, NftChain, NftMap, NftMapElement, NftRule, NftRuleset, NftSet } from './ruleset.ts';
import { ruleSetRefs } from './ruleset.ts';

export type NftOp =
  /** Create a chain (base chains with their hook), without rules. */
  | { readonly op: 'add-chain'; readonly chain: NftChain }
  /** Create a set (definition only; elements come with `add-elements`). */
  | { readonly op: 'add-set'; readonly set: NftSet }
  /** Create a verdict map (definition only). */
  | { readonly op: 'add-map'; readonly map: NftMap }
  /** Remove every rule of a chain. */
  | { readonly op: 'flush-chain'; readonly chain: string }
  /** Remove elements (keys only matter). */
  | { readonly op: 'delete-elements'; readonly target: 'set' | 'map'; readonly name: string; readonly keyType: readonly KeyType[]; readonly keys: readonly ElementKey[] }
  /** Add set elements. */
  | { readonly op: 'add-elements'; readonly target: 'set'; readonly name: string; readonly keyType: readonly KeyType[]; readonly keys: readonly ElementKey[] }
  /** Add map elements. */
  | { readonly op: 'add-elements'; readonly target: 'map'; readonly name: string; readonly keyType: readonly KeyType[]; readonly elements: readonly NftMapElement[] }
  /** Append rules to a chain (after a flush, or to a new chain). */
  | { readonly op: 'add-rules'; readonly chain: string; readonly rules: readonly NftRule[] }
  /** Delete an empty, unreferenced chain. */
  | { readonly op: 'delete-chain'; readonly chain: string }
  /** Delete an unreferenced set or map. */
  | { readonly op: 'delete-set'; readonly target: 'set' | 'map'; readonly name: string };

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

export function diffRulesets(a: NftRuleset, b: NftRuleset): RulesetDiff {
  const empty = { added: [], changed: [], removed: [] };
  if (a.family !== b.family || a.table !== b.table) return { ops: [], fullReason: 'family or table differs', chains: empty };
  if ((a.comment ?? null) !== (b.comment ?? null)) return { ops: [], fullReason: 'table comment differs', chains: empty };
  const fam = b.family;

  const aChains = new Map(a.chains.map((c) => [c.name, c]));
  const bChains = new Map(b.chains.map((c) => [c.name, c]));
  const aSets = new Map(a.sets.map((s) => [s.name, s]));
  const bSets = new Map(b.sets.map((s) => [s.name, s]));
  const aMaps = new Map(a.maps.map((m) => [m.name, m]));
  const bMaps = new Map(b.maps.map((m) => [m.name, m]));

  for (const [name, m] of bMaps) {
    const old = aMaps.get(name);
    if (old && mapDef(old) !== mapDef(m)) return { ops: [], fullReason: `map ${name} definition differs`, chains: empty };
  }
  for (const [name, c] of bChains) {
    const old = aChains.get(name);
    if (old && (!same(old.base, c.base) || (old.comment ?? null) !== (c.comment ?? null))) {
      return { ops: [], fullReason: `chain ${name} definition differs`, chains: empty };
    }
  }

  const redefinedSets = [...bSets.values()].filter((s) => aSets.has(s.name) && setDef(aSets.get(s.name)!) !== setDef(s));
  const redefined = new Set(redefinedSets.map((s) => s.name));

  const addedChains = b.chains.filter((c) => !aChains.has(c.name));
  const removedChains = a.chains.filter((c) => !bChains.has(c.name));
  const rulesText = (c: NftChain) => c.rules.map((r) => formatRule(r, fam)).join('\n');
  const usesRedefined = (c: NftChain) => c.rules.some((r) => ruleSetRefs(r).some((s) => redefined.has(s)));
  const changedChains = b.chains.filter((c) => {
    const old = aChains.get(c.name);
    return old !== undefined && (rulesText(old) !== rulesText(c) || usesRedefined(old));
  });

  const ops: NftOp[] = [];
  // 1. new objects
  for (const c of addedChains) ops.push({ op: 'add-chain', chain: { ...c, rules: [] } });
  for (const s of b.sets) if (!aSets.has(s.name)) ops.push({ op: 'add-set', set: { ...s, elements: [] } });
  for (const m of b.maps) if (!aMaps.has(m.name)) ops.push({ op: 'add-map', map: { ...m, elements: [] } });
  // 2. flush changed and stale chains
  for (const c of changedChains) ops.push({ op: 'flush-chain', chain: c.name });
  for (const c of removedChains) if (c.rules.length) ops.push({ op: 'flush-chain', chain: c.name });
  // 3. element deletions; 5. element additions (collected now, emitted after 4)
  const adds: NftOp[] = [];
  for (const m of b.maps) {
    const old = aMaps.get(m.name);
    const before = new Map((old?.elements ?? []).map((e) => [formatKey(e.key, m.keyType, fam), formatVerdict(e.verdict)]));
    const del: ElementKey[] = [];
    const add: NftMapElement[] = [];
    const now = new Set<string>();
    for (const e of m.elements) {
      const k = formatKey(e.key, m.keyType, fam);
      now.add(k);
      const v = before.get(k);
      if (v === undefined) add.push(e);
      else if (v !== formatVerdict(e.verdict)) {
        del.push(e.key);
        add.push(e);
      }
    }
    for (const e of old?.elements ?? []) if (!now.has(formatKey(e.key, m.keyType, fam))) del.push(e.key);
    if (del.length) ops.push({ op: 'delete-elements', target: 'map', name: m.name, keyType: m.keyType, keys: del });
    if (add.length) adds.push({ op: 'add-elements', target: 'map', name: m.name, keyType: m.keyType, elements: add });
  }
  for (const s of b.sets) {
    const old = aSets.get(s.name);
    if (redefined.has(s.name)) {
      if (s.elements.length) adds.push({ op: 'add-elements', target: 'set', name: s.name, keyType: s.keyType, keys: s.elements });
      continue;
    }
    const before = new Set((old?.elements ?? []).map((k) => formatKey(k, s.keyType, fam)));
    const now = new Set(s.elements.map((k) => formatKey(k, s.keyType, fam)));
    const add = s.elements.filter((k) => !before.has(formatKey(k, s.keyType, fam)));
    const del = (old?.elements ?? []).filter((k) => !now.has(formatKey(k, s.keyType, fam)));
    if (del.length) ops.push({ op: 'delete-elements', target: 'set', name: s.name, keyType: s.keyType, keys: del });
    if (add.length) adds.push({ op: 'add-elements', target: 'set', name: s.name, keyType: s.keyType, keys: add });
  }
  // 4. redefined sets
  for (const s of redefinedSets) {
    ops.push({ op: 'delete-set', target: 'set', name: s.name });
    ops.push({ op: 'add-set', set: { ...s, elements: [] } });
  }
  ops.push(...adds);
  // 6. rules of new and changed chains
  for (const c of [...addedChains, ...changedChains]) if (c.rules.length) ops.push({ op: 'add-rules', chain: c.name, rules: c.rules });
  // 7. stale chains; 8. stale sets and maps
  for (const c of removedChains) ops.push({ op: 'delete-chain', chain: c.name });
  for (const s of a.sets) if (!bSets.has(s.name)) ops.push({ op: 'delete-set', target: 'set', name: s.name });
  for (const m of a.maps) if (!bMaps.has(m.name)) ops.push({ op: 'delete-set', target: 'map', name: m.name });

  return {
    ops,
    chains: { added: addedChains.map((c) => c.name), changed: changedChains.map((c) => c.name), removed: removedChains.map((c) => c.name) },
  };
}

/** Number of elements/rules an operation carries (for size reports). */
export function opWeight(op: NftOp): number {
  switch (op.op) {
    case 'add-rules':
      return op.rules.length;
    case 'delete-elements':
      return op.keys.length;
    case 'add-elements':
      return op.target === 'map' ? op.elements.length : op.keys.length;
    default:
      return 1;
  }
}

/** Readable one-line form of an operation (for logs and tests). */
export function describeOp(op: NftOp, family: NftRuleset['family']): string {
  switch (op.op) {
    case 'add-chain':
      return `add chain ${op.chain.name}`;
    case 'add-set':
      return `add set ${op.set.name}`;
    case 'add-map':
      return `add map ${op.map.name}`;
    case 'flush-chain':
      return `flush chain ${op.chain}`;
    case 'delete-elements':
      return `delete ${op.keys.length} element(s) from ${op.target} ${op.name}`;
    case 'add-elements':
      return op.target === 'map'
        ? `add ${op.elements.length} element(s) to map ${op.name}: ${op.elements.map((e) => formatMapElement(op, e, family)).slice(0, 3).join(', ')}`
        : `add ${op.keys.length} element(s) to set ${op.name}`;
    case 'add-rules':
      return `add ${op.rules.length} rule(s) to ${op.chain}`;
    case 'delete-chain':
      return `delete chain ${op.chain}`;
    case 'delete-set':
      return `delete ${op.target} ${op.name}`;
  }
}

/** The operations as one `nft -f` script (one transaction). */
export function renderOps(ops: readonly NftOp[], family: NftRuleset['family'], table: NftRuleset['table'] = 'kube-proxy'): string {
  const w = new ScriptWriter(family, table);
  for (const op of ops) {
    switch (op.op) {
      case 'add-chain':
        w.addChain(op.chain);
        break;
      case 'add-set':
        w.addSet(op.set);
        break;
      case 'add-map':
        w.addMap(op.map);
        break;
      case 'flush-chain':
        w.flushChain(op.chain);
        break;
      case 'delete-elements':
        w.elements('delete', op.name, op.keys.map((k) => formatKey(k, op.keyType, family)));
        break;
      case 'add-elements':
        w.elements(
          'add',
          op.name,
          op.target === 'map' ? op.elements.map((e) => formatMapElement(op, e, family)) : op.keys.map((k) => formatKey(k, op.keyType, family)),
        );
        break;
      case 'add-rules':
        w.addRules(op.chain, op.rules);
        break;
      case 'delete-chain':
        w.deleteChain(op.chain);
        break;
      case 'delete-set':
        w.deleteSet(op.target, op.name);
        break;
    }
  }
  return w.text();
}
