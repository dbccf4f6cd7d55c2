// The one op walk (src/ops.ts): what a sink is told, in which order, for a whole table and for a
// diff; and the `nft -f` sink's text for it.
import { describe, expect, it } from 'vitest';
import { compile } from '@kpb/compiler';
import { buildRuleset, diffRulesets, renderOps, renderScript, writeOps, writeReplace } from '../src/index.ts';
import type { NftOp, NftSink } from '../src/index.ts';
import { edit, SETTINGS, smallCluster } from './fixtures.ts';

/** A sink that records one line per call: method and object name. */
function recorder(): { sink: NftSink; calls: string[] } {
  const calls: string[] = [];
  const sink: NftSink = {
    addTable: (comment) => calls.push(`addTable ${comment ?? '-'}`),
    deleteTable: () => calls.push('deleteTable'),
    addChain: (c) => calls.push(`addChain ${c.name}`),
    flushChain: (name) => calls.push(`flushChain ${name}`),
    deleteChain: (name) => calls.push(`deleteChain ${name}`),
    addSet: (s) => calls.push(`addSet ${s.name}`),
    addMap: (m) => calls.push(`addMap ${m.name}`),
    addDataMap: (m) => calls.push(`addDataMap ${m.name}`),
    deleteSet: (kind, name) => calls.push(`deleteSet ${kind} ${name}`),
    addRules: (chain, rules) => calls.push(`addRules ${chain} ${rules.length}`),
    addSetElements: (name, _t, keys) => calls.push(`addSetElements ${name} ${keys.length}`),
    addMapElements: (name, _t, elements) => calls.push(`addMapElements ${name} ${elements.length}`),
    addDataMapElements: (name, _t, elements) => calls.push(`addDataMapElements ${name} ${elements.length}`),
    deleteElements: (target, name, _t, keys) => calls.push(`deleteElements ${target} ${name} ${keys.length}`),
  };
  return { sink, calls };
}

const rs = buildRuleset(compile(smallCluster(), SETTINGS), { layout: 'flat' });

describe('writeReplace', () => {
  it('add + delete table, then chains, sets, maps (empty), rules of every chain, elements', () => {
    const { sink, calls } = recorder();
    writeReplace(sink, rs);
    const expected = [
      `addTable ${rs.comment}`,
      'deleteTable',
      `addTable ${rs.comment}`,
      ...rs.chains.map((c) => `addChain ${c.name}`),
      ...rs.sets.map((s) => `addSet ${s.name}`),
      ...rs.maps.map((m) => `addMap ${m.name}`),
      ...rs.chains.map((c) => `addRules ${c.name} ${c.rules.length}`),
      ...rs.sets.filter((s) => s.elements.length).map((s) => `addSetElements ${s.name} ${s.elements.length}`),
      ...rs.maps.filter((m) => m.elements.length).map((m) => `addMapElements ${m.name} ${m.elements.length}`),
    ];
    expect(calls).toEqual(expected);
    expect(calls.some((c) => c.startsWith('addSetElements'))).toBe(true);
  });

  it('renderScript prints one line per command, rules and elements included', () => {
    const lines = renderScript(rs).trimEnd().split('\n');
    const verbs = lines.map((l) => l.split(' ').slice(0, 2).join(' '));
    expect(verbs.slice(0, 3)).toEqual(['add table', 'delete table', 'add table']);
    expect(verbs.filter((v) => v === 'add rule')).toHaveLength(rs.chains.reduce((n, c) => n + c.rules.length, 0));
    expect(verbs.indexOf('add element')).toBeGreaterThan(verbs.lastIndexOf('add rule'));
  });
});

describe('writeOps', () => {
  it('hands every op kind to its sink method, in order', () => {
    const set = rs.sets[0]!;
    const map = rs.maps[0]!;
    const ops: NftOp[] = [
      { op: 'add-chain', chain: rs.chains[0]! },
      { op: 'add-set', set },
      { op: 'add-map', map },
      { op: 'flush-chain', chain: 'c1' },
      { op: 'delete-elements', target: 'map', name: map.name, keyType: map.keyType, keys: [map.elements[0]!.key] },
      { op: 'add-elements', target: 'set', name: set.name, keyType: set.keyType, keys: set.elements },
      { op: 'add-elements', target: 'map', name: map.name, keyType: map.keyType, elements: map.elements.slice(0, 2) },
      { op: 'add-rules', chain: 'c1', rules: rs.chains[0]!.rules },
      { op: 'delete-chain', chain: 'c2' },
      { op: 'delete-set', target: 'map', name: 'm2' },
    ];
    const { sink, calls } = recorder();
    writeOps(sink, ops);
    expect(calls).toEqual([
      `addChain ${rs.chains[0]!.name}`,
      `addSet ${set.name}`,
      `addMap ${map.name}`,
      'flushChain c1',
      `deleteElements map ${map.name} 1`,
      `addSetElements ${set.name} ${set.elements.length}`,
      `addMapElements ${map.name} 2`,
      `addRules c1 ${rs.chains[0]!.rules.length}`,
      'deleteChain c2',
      'deleteSet map m2',
    ]);
  });

  it('renderOps of a diff prints the ops in the same order', () => {
    const b = buildRuleset(compile(edit(smallCluster(), { services: (s) => s.filter((x) => x.name !== 'lb') }), SETTINGS), { layout: 'flat' });
    const d = diffRulesets(rs, b);
    const { sink, calls } = recorder();
    writeOps(sink, d.ops);
    const script = renderOps(d.ops, 'ip').trimEnd().split('\n');
    const kinds = (verb: string) => script.filter((l) => l.startsWith(verb)).length;
    expect(kinds('delete element')).toBe(calls.filter((c) => c.startsWith('deleteElements')).length);
    expect(kinds('flush chain')).toBe(calls.filter((c) => c.startsWith('flushChain')).length);
    expect(script.findIndex((l) => l.startsWith('delete chain'))).toBeGreaterThan(script.findLastIndex((l) => l.startsWith('flush chain')));
  });
});
