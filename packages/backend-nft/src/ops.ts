/**
 * The one walk over nft objects: a whole table definition (`writeDefinition`, `writeReplace`)
 * and a ruleset difference (`writeOps`) become calls on an `NftSink`, one call per nft command.
 * Two sinks exist: `ScriptWriter` (render.ts) prints the `nft -f` script, and the libnftnl
 * backend's `NftnlEncoder` writes the addon's op stream. Both see the same commands in the same
 * order, which is what keeps `nft list ruleset` byte-identical between the two backends.
 */
import type { ElementKey, KeyType, NftChain, NftDataElement, NftDataMap, NftMap, NftMapElement, NftRule, NftRuleset, NftSet } from './ruleset.ts';

export type NftOp =
  /** Create a chain (base chains with their hook), without rules. */
  | { readonly op: 'add-chain'; readonly chain: NftChain }
  /** Create a set (definition only; elements come with `add-elements`). */
  | { readonly op: 'add-set'; readonly set: NftSet }
  /** Create a verdict map (definition only). */
  | { readonly op: 'add-map'; readonly map: NftMap }
  /** Create a data map (definition only). */
  | { readonly op: 'add-data-map'; readonly map: NftDataMap }
  /** Remove every rule of a chain. */
  | { readonly op: 'flush-chain'; readonly chain: string }
  /** Remove elements (keys only matter). */
  | { readonly op: 'delete-elements'; readonly target: 'set' | 'map'; readonly name: string; readonly keyType: readonly KeyType[]; readonly keys: readonly ElementKey[] }
  /** Add set elements. */
  | { readonly op: 'add-elements'; readonly target: 'set'; readonly name: string; readonly keyType: readonly KeyType[]; readonly keys: readonly ElementKey[] }
  /** Add map elements. */
  | { readonly op: 'add-elements'; readonly target: 'map'; readonly name: string; readonly keyType: readonly KeyType[]; readonly elements: readonly NftMapElement[] }
  /** Add data-map elements. */
  | { readonly op: 'add-elements'; readonly target: 'data-map'; readonly name: string; readonly keyType: readonly KeyType[]; readonly elements: readonly NftDataElement[] }
  /** Append rules to a chain (after a flush, or to a new chain). */
  | { readonly op: 'add-rules'; readonly chain: string; readonly rules: readonly NftRule[] }
  /** Delete an empty, unreferenced chain. */
  | { readonly op: 'delete-chain'; readonly chain: string }
  /** Delete an unreferenced set or map. */
  | { readonly op: 'delete-set'; readonly target: 'set' | 'map'; readonly name: string };

/** Receives nft commands for one table, in execution order. */
export interface NftSink {
  /** `add table` (with the table comment, when there is one). */
  addTable(comment: string | undefined): void;
  deleteTable(): void;
  /** A chain's definition; its rules come with `addRules`. */
  addChain(chain: NftChain): void;
  flushChain(name: string): void;
  deleteChain(name: string): void;
  /** A set's definition; its elements come with `addSetElements`. */
  addSet(set: NftSet): void;
  /** A map's definition; its elements come with `addMapElements`. */
  addMap(map: NftMap): void;
  /** A data map's definition; its elements come with `addDataMapElements`. */
  addDataMap(map: NftDataMap): void;
  deleteSet(kind: 'set' | 'map', name: string): void;
  /** Appends rules to a chain. */
  addRules(chain: string, rules: readonly NftRule[]): void;
  /** Adds set elements (nothing for none). */
  addSetElements(name: string, keyType: readonly KeyType[], keys: readonly ElementKey[]): void;
  /** Adds map elements (nothing for none). */
  addMapElements(name: string, keyType: readonly KeyType[], elements: readonly NftMapElement[]): void;
  /** Adds data-map elements (nothing for none). */
  addDataMapElements(name: string, keyType: readonly KeyType[], elements: readonly NftDataElement[]): void;
  /** Deletes set or map elements by key (nothing for none). */
  deleteElements(target: 'set' | 'map', name: string, keyType: readonly KeyType[], keys: readonly ElementKey[]): void;
}

/**
 * A table's whole definition: the table, every chain, set and map (empty), then the rules, then
 * the elements, so that everything a rule or element refers to exists before it.
 */
function writeDefinition(sink: NftSink, rs: NftRuleset): void {
  sink.addTable(rs.comment);
  for (const c of rs.chains) sink.addChain(c);
  for (const s of rs.sets) sink.addSet(s);
  for (const m of rs.maps) sink.addMap(m);
  for (const m of rs.dataMaps ?? []) sink.addDataMap(m);
  // Every chain, even an empty one: the nftnl encoder's test hook may append rules to any chain.
  for (const c of rs.chains) sink.addRules(c.name, c.rules);
  for (const s of rs.sets) if (s.elements.length) sink.addSetElements(s.name, s.keyType, s.elements);
  for (const m of rs.maps) if (m.elements.length) sink.addMapElements(m.name, m.keyType, m.elements);
  for (const m of rs.dataMaps ?? []) if (m.elements.length) sink.addDataMapElements(m.name, m.keyType, m.elements);
}

/** Atomic replace in one transaction: `add table` + `delete table` (so the delete never fails), then the definition. */
export function writeReplace(sink: NftSink, rs: NftRuleset): void {
  sink.addTable(rs.comment);
  sink.deleteTable();
  writeDefinition(sink, rs);
}

/** The operations of a ruleset difference (`diffRulesets`), in order. */
export function writeOps(sink: NftSink, ops: readonly NftOp[]): void {
  for (const op of ops) writeOp(sink, op);
}

function writeOp(sink: NftSink, op: NftOp): void {
  switch (op.op) {
    case 'add-chain':
      return sink.addChain(op.chain);
    case 'add-set':
      return sink.addSet(op.set);
    case 'add-map':
      return sink.addMap(op.map);
    case 'add-data-map':
      return sink.addDataMap(op.map);
    case 'flush-chain':
      return sink.flushChain(op.chain);
    case 'delete-elements':
      return sink.deleteElements(op.target, op.name, op.keyType, op.keys);
    case 'add-elements':
      if (op.target === 'data-map') return sink.addDataMapElements(op.name, op.keyType, op.elements);
      return op.target === 'map' ? sink.addMapElements(op.name, op.keyType, op.elements) : sink.addSetElements(op.name, op.keyType, op.keys);
    case 'add-rules':
      return sink.addRules(op.chain, op.rules);
    case 'delete-chain':
      return sink.deleteChain(op.chain);
    case 'delete-set':
      return sink.deleteSet(op.target, op.name);
  }
}
