/**
 * listDecoded lists without rule text and without dynamic sets' elements, and lists again with
 * the text only when a rule does not decode (its `# unknown` line prints libnftnl's text).
 */
import { describe, expect, it } from 'vitest';
import type { Listing, ListOptions } from '@kpb/native';
import { listDecoded } from '../src/decode.ts';

const TEXT = 'ip kube-proxy c 2\n  [ counter pkts 0 bytes 0 ]\n';

function listing(rule: Listing['chains'][number]['rules'][number]): Listing {
  return {
    exists: true,
    generation: 1,
    family: 'ip',
    table: { name: 'kube-proxy', handle: 1, flags: 0, use: 1 },
    chains: [{ name: 'c', handle: 1, use: 0, flags: 0, rules: [rule] }],
    sets: [],
  };
}

function port(exprs: Listing['chains'][number]['rules'][number]['exprs']) {
  const calls: ListOptions[] = [];
  const list = async (o: ListOptions) => {
    calls.push(o);
    return listing({ handle: 2, exprs, ...(o.ruleText ? { text: TEXT } : {}) });
  };
  return { calls, list };
}

describe('listDecoded', () => {
  it('lists once, without rule text and dynamic elements, when every rule decodes', async () => {
    const { calls, list } = port([{ name: 'immediate', attrs: { dreg: 0, verdict: 1 } }]);
    const { table } = await listDecoded(list);
    expect(calls).toEqual([{ ruleText: false, dynamicElements: false }]);
    expect(table!.chains.get('c')!.rules).toEqual([{ statements: [{ kind: 'verdict', verdict: { kind: 'accept' } }] }]);
  });

  it('lists again with rule text when a rule does not decode, and prints it', async () => {
    const { calls, list } = port([{ name: 'counter', attrs: {} }]);
    const { table } = await listDecoded(list);
    expect(calls.map((c) => c.ruleText)).toEqual([false, true]);
    expect(table!.lacksText).toBe(false);
    expect(table!.chains.get('c')!.rules).toEqual([{ unknown: '# unknown (counter): [ counter pkts 0 bytes 0 ] ' }]);
  });
});
