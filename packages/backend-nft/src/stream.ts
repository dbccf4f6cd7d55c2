/**
 * A whole-table replace written one service port at a time: the commands `writeReplace` (ops.ts)
 * sends for the table a `RulesetStream` builds, each to the sink of its part. Every service
 * port's chains, sets and rules are written as soon as they are built, so no whole NftRuleset is
 * kept; the parts, put together in `STREAM_PARTS` order, are `writeReplace`'s commands exactly.
 */
import type { RulesetStream } from './build.ts';
import type { NftSink } from './ops.ts';

/** The parts of a replace, in the order they are sent. */
export const STREAM_PARTS = ['head', 'leadingSets', 'sets', 'maps', 'fixedRules', 'rules', 'leadingElements', 'elements', 'mapElements'] as const;
export type StreamPart = (typeof STREAM_PARTS)[number];

/** Writes the replace of `stream`'s table, each command to `to(part)` (asked again for every command: a sink may switch). */
export function writeStreamReplace(stream: RulesetStream, to: (part: StreamPart) => NftSink): void {
  const head = to('head');
  head.addTable(stream.comment);
  head.deleteTable();
  head.addTable(stream.comment);
  for (const c of stream.fixedChains) head.addChain(c);
  for (const sp of stream.servicePorts()) {
    for (const c of sp.chains) to('head').addChain(c);
    for (const s of sp.sets) to('sets').addSet(s);
    // Every chain, even an empty one: the nftnl encoder's test hook may append rules to any chain.
    for (const c of sp.chains) to('rules').addRules(c.name, c.rules);
    for (const s of sp.sets) if (s.elements.length) to('elements').addSetElements(s.name, s.keyType, s.elements);
  }
  const leadingSets = stream.leadingSets();
  const maps = stream.maps();
  const dataMaps = stream.dataMaps();
  for (const s of leadingSets) to('leadingSets').addSet(s);
  for (const m of maps) to('maps').addMap(m);
  for (const m of dataMaps) to('maps').addDataMap(m);
  for (const c of stream.fixedChains) to('fixedRules').addRules(c.name, c.rules);
  for (const s of leadingSets) if (s.elements.length) to('leadingElements').addSetElements(s.name, s.keyType, s.elements);
  for (const m of maps) if (m.elements.length) to('mapElements').addMapElements(m.name, m.keyType, m.elements);
  for (const m of dataMaps) if (m.elements.length) to('mapElements').addDataMapElements(m.name, m.keyType, m.elements);
}
