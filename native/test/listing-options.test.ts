/**
 * listRuleset at the size where a helper thread reads half the chains' rules, and its options:
 * `ruleText: false` leaves rules without text, `dynamicElements: false` reads no elements of
 * dynamic sets, bad options throw TypeError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyBatch, BatchBuilder, listRuleset, NFT_SET_F, verdictExpr } from '../index.ts';
import { canUseKernel, createNetns, deleteNetns } from './helpers.ts';

const T = 'opts';
const CHAINS = 3000;
const addr = (i: number) => Uint8Array.of(10, 1, i >> 8, i & 0xff);

describe.skipIf(!canUseKernel())('listRuleset options and the helper thread (network namespaces)', () => {
  let ns = '';

  beforeAll(async () => {
    ns = createNetns();
    const b = new BatchBuilder();
    b.addTable({ family: 'ip', name: T });
    // Chain i holds i % 3 + 1 rules, each accepting: a chain read twice, skipped or given
    // another chain's rules changes the counts.
    for (let i = 0; i < CHAINS; i++) {
      b.addChain({ family: 'ip', table: T, name: `c${i}` });
      for (let k = 0; k <= i % 3; k++) b.addRule({ family: 'ip', table: T, chain: `c${i}`, exprs: [verdictExpr({ kind: 'accept' })] });
    }
    b.addSet({ family: 'ip', table: T, name: 'plain', keyType: 7, keyLen: 4 });
    b.addElements({ family: 'ip', table: T, name: 'plain' }, [{ key: addr(1) }, { key: addr(2) }]);
    b.addSet({ family: 'ip', table: T, name: 'dyn', keyType: 7, keyLen: 4, flags: NFT_SET_F.eval | NFT_SET_F.timeout, timeout: 60_000 });
    b.addElements({ family: 'ip', table: T, name: 'dyn' }, [{ key: addr(3) }]);
    await applyBatch(ns, b.finish());
  });

  afterAll(() => deleteNetns(ns));

  it('reads every chain once with its own rules, in order, with and without rule text', async () => {
    for (const ruleText of [true, false]) {
      const l = await listRuleset(ns, 'ip', T, { ruleText });
      expect(l.chains.map((c) => c.name)).toEqual(Array.from({ length: CHAINS }, (_, i) => `c${i}`));
      expect(l.chains.map((c) => c.rules.length)).toEqual(Array.from({ length: CHAINS }, (_, i) => (i % 3) + 1));
      const handles = l.chains.flatMap((c) => c.rules.map((r) => r.handle));
      expect(new Set(handles).size).toBe(handles.length);
      const rule = l.chains[7]!.rules[0]!;
      expect(rule.exprs).toEqual([{ name: 'immediate', attrs: { dreg: 0, verdict: 1 } }]);
      if (ruleText) expect(rule.text).toContain('[ immediate reg 0 accept ]');
      else expect('text' in rule).toBe(false);
    }
  });

  it('dynamicElements: false reads no elements of dynamic sets and says so', async () => {
    const all = await listRuleset(ns, 'ip', T);
    const some = await listRuleset(ns, 'ip', T, { dynamicElements: false });
    const set = (l: typeof all, name: string) => l.sets.find((s) => s.name === name)!;
    expect(set(all, 'dyn').elements.map((e) => e.key)).toEqual(['0a010003']);
    expect('elementsListed' in set(all, 'dyn')).toBe(false);
    expect(set(some, 'dyn')).toMatchObject({ elements: [], elementsListed: false });
    expect(set(some, 'plain').elements.map((e) => e.key).sort()).toEqual(['0a010001', '0a010002']);
    expect('elementsListed' in set(some, 'plain')).toBe(false);
  });

  it('stats only when asked: one request per chain for the rules', async () => {
    expect('stats' in (await listRuleset(ns, 'ip', T))).toBe(false);
    const { stats } = await listRuleset(ns, 'ip', T, { stats: true });
    // table, chains, sets, two element dumps, one rule dump per chain
    expect(stats!.requests).toBe(3 + 2 + CHAINS);
    expect(stats).toMatchObject({ attempts: 1, elementRedumps: 0 });
  });

  it('bad options throw TypeError synchronously', () => {
    const list = listRuleset as unknown as (...a: unknown[]) => unknown;
    for (const options of [{ ruleText: 'no' }, { dynamicElements: 1 }]) expect(() => list(ns, 'ip', T, options)).toThrow(TypeError);
  });
});
