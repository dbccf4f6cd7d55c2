// Kernel tests: every batch goes into namespaces created (and deleted) here.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { applyBatch, getGeneration, listRuleset, BatchBuilder, verdictExpr, NFT_SET_F } from '../index.ts';
import type { Expr, ListedExpr, NetlinkError } from '../index.ts';
import { canUseKernel, createNetns, deleteNetns, nftListRuleset, nftApply } from './helpers.ts';
import { buildTestBatch, NFT_SCRIPT, TABLE, RULE_DNAT, RULE_MARK, RULE_MASQ, RULE_VMAP, RULE_NUMGEN } from './fixtures.ts';

const created: string[] = [];
function netns(): string {
  const n = createNetns();
  created.push(n);
  return n;
}

/** Every attribute sent must come back with the same value (bytes as hex). */
function expectSameExprs(got: ListedExpr[], sent: Expr[], ignore: string[] = []): void {
  expect(got.map((e) => e.name)).toEqual(sent.map((e) => e.name));
  sent.forEach((e, i) => {
    for (const [k, v] of Object.entries(e.attrs ?? {})) {
      if (ignore.includes(`${e.name}.${k}`)) continue;
      const want = v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v;
      expect(got[i]!.attrs[k], `${e.name}.${k}`).toEqual(want);
    }
  });
}

describe.skipIf(!canUseKernel())('kernel (network namespaces)', () => {
  let ns = '';
  let reference = '';

  beforeAll(async () => {
    ns = netns();
    await applyBatch(ns, buildTestBatch().finish());
  });

  afterAll(() => {
    for (const n of created.splice(0)) deleteNetns(n);
  });

  it('(a) produces the same ruleset as nft -f with the equivalent script', () => {
    const other = netns();
    nftApply(other, NFT_SCRIPT);
    reference = nftListRuleset(other);
    expect(reference).toContain('ip daddr . meta l4proto . th dport vmap @svcmap');
    expect(reference).toContain('numgen random mod 2 vmap { 0 : goto svc-a, 1 : goto svc-b }');
    expect(nftListRuleset(ns)).toBe(reference);
  });

  it('(b) listRuleset returns what was sent', async () => {
    const l = await listRuleset(ns, 'ip', TABLE);
    expect(l.exists).toBe(true);
    expect(l.table?.name).toBe(TABLE);
    const byName = Object.fromEntries(l.chains.map((c) => [c.name, c]));
    expect(Object.keys(byName).sort()).toEqual(['nat-postrouting', 'nat-prerouting', 'svc-a', 'svc-b']);
    expect(byName['nat-prerouting']).toMatchObject({ hook: 'prerouting', prio: -100, type: 'nat', policy: 'accept' });
    expect(byName['nat-postrouting']).toMatchObject({ hook: 'postrouting', prio: 100, type: 'nat', policy: 'accept' });
    expect(byName['svc-a']!.hook).toBeUndefined();

    const pre = byName['nat-prerouting']!.rules;
    expect(pre).toHaveLength(4);
    expectSameExprs(pre[0]!.exprs, RULE_VMAP, ['lookup.set_id']);
    expectSameExprs(pre[1]!.exprs, RULE_DNAT, ['nat.flags']);
    // the kernel adds NF_NAT_RANGE_MAP_IPS when an address register is given
    expect(pre[1]!.exprs[4]!.attrs.flags).toBe(3);
    expectSameExprs(pre[2]!.exprs, RULE_MARK);
    expectSameExprs(pre[3]!.exprs, RULE_NUMGEN, ['lookup.set_id', 'lookup.set']);
    expect(pre[3]!.exprs[1]!.attrs.set).toMatch(/^__map\d+$/);
    expectSameExprs(byName['nat-postrouting']!.rules[0]!.exprs, RULE_MASQ);
    expect(pre[1]!.text).toContain('[ nat dnat ip addr_min reg 1');

    const svcmap = l.sets.find((s) => s.name === 'svcmap')!;
    // sent with dataLen 0; the kernel reports sizeof(struct nft_verdict) = 16 for verdict maps
    expect(svcmap).toMatchObject({ flags: NFT_SET_F.map, keyLen: 12, dataType: 0xffffff00, dataLen: 16 });
    const elems = Object.fromEntries(svcmap.elements.map((e) => [e.key, e.verdict]));
    expect(Object.keys(elems)).toHaveLength(3);
    expect(elems['0a600001' + '06000000' + '00500000']).toEqual({ kind: 'goto', chain: 'svc-a' });
    expect(elems['0a600002' + '11000000' + '00350000']).toEqual({ kind: 'jump', chain: 'svc-b' });
    expect(elems['0a600003' + '06000000' + '01bb0000']).toEqual({ kind: 'drop' });
    const anon = l.sets.find((s) => s.name.startsWith('__map'))!;
    expect(anon.flags).toBe(NFT_SET_F.anonymous | NFT_SET_F.constant | NFT_SET_F.map);
    expect(anon.elements.map((e) => [e.key, e.verdict?.chain]).sort()).toEqual([
      ['00000000', 'svc-a'],
      ['01000000', 'svc-b'],
    ]);

    const missing = await listRuleset(ns, 'ip', 'no-such-table');
    expect(missing).toMatchObject({ exists: false, table: null, chains: [], sets: [] });
  });

  it('(c) a failing op aborts the whole batch and names the op', async () => {
    const before = nftListRuleset(ns);
    const gen = await getGeneration(ns);
    const b = new BatchBuilder();
    const ref = { family: 'ip' as const, table: TABLE };
    b.addChain({ ...ref, name: 'service-X' });
    b.addRule({ ...ref, chain: 'service-X', exprs: [{ name: 'counter' }] }, 'rule 1 in chain service-X');
    b.addRule({ ...ref, chain: 'service-X', exprs: [verdictExpr({ kind: 'accept' })] }, 'rule 2 in chain service-X');
    b.addRule({ ...ref, chain: 'service-X', exprs: [verdictExpr({ kind: 'jump', chain: 'no-such-chain' })] }, 'rule 3 in chain service-X');
    b.addRule({ ...ref, chain: 'service-X', exprs: [verdictExpr({ kind: 'drop' })] }, 'rule 4 in chain service-X');
    const err = (await applyBatch(ns, b.finish()).then(
      () => undefined,
      (e: unknown) => e,
    )) as NetlinkError | undefined;
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain('netlink: No such file or directory (ENOENT) at rule 3 in chain service-X');
    expect(err!.errno).toBe('ENOENT');
    expect(err!.label).toBe('rule 3 in chain service-X');
    expect(nftListRuleset(ns)).toBe(before);
    expect(await getGeneration(ns)).toBe(gen);
  });

  it('(d) 10k elements are chunked and all arrive', async () => {
    const n = netns();
    const b = new BatchBuilder();
    const ref = { family: 'ip' as const, table: 'big', name: 'addrs' };
    b.addTable({ family: 'ip', name: 'big' });
    b.addSet({ ...ref, keyType: 7, keyLen: 4 });
    const elems = [];
    for (let i = 0; i < 10_000; i++) elems.push({ key: Uint8Array.of(10, 100, i >> 8, i & 0xff) });
    b.addElements(ref, elems);
    const r = await applyBatch(n, b.finish());
    expect(r.messages).toBeGreaterThan(4 + 10_000 / 1000); // begin, table, set, >10 chunks, end
    const l = await listRuleset(n, 'ip', 'big');
    expect(l.sets[0]!.elements).toHaveLength(10_000);
    const keys = new Set(l.sets[0]!.elements.map((e) => e.key));
    expect(keys.size).toBe(10_000);
    expect(keys.has('0a640000')).toBe(true);
    expect(keys.has('0a64270f')).toBe(true);
  });

  it('(e) wrong argument types throw TypeError synchronously; bad streams and namespaces reject', async () => {
    const call = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const anyApply = applyBatch as unknown as (...a: unknown[]) => unknown;
    expect(call(() => anyApply(42))).toBeInstanceOf(TypeError);
    expect(call(() => anyApply(ns, 'not a buffer'))).toBeInstanceOf(TypeError);
    expect(call(() => anyApply(42, Buffer.alloc(0)))).toBeInstanceOf(TypeError);
    for (const generation of [0, -1, 1.5, 2 ** 32, 'seven']) {
      expect(call(() => anyApply(ns, Buffer.alloc(0), { generation })), String(generation)).toBeInstanceOf(TypeError);
    }
    expect(call(() => anyApply(ns, Buffer.alloc(0), 7))).toBeInstanceOf(TypeError);
    expect(call(() => (getGeneration as unknown as (a: unknown) => unknown)(42))).toBeInstanceOf(TypeError);
    expect(call(() => (listRuleset as unknown as (...a: unknown[]) => unknown)(ns, 'arp', 't'))).toBeInstanceOf(TypeError);
    expect(call(() => (listRuleset as unknown as (...a: unknown[]) => unknown)(ns, 'ip', 7))).toBeInstanceOf(TypeError);

    const good = buildTestBatch().finish();
    const cut = Buffer.from(good.subarray(0, 100));
    await expect(applyBatch(ns, cut)).rejects.toThrow(/malformed op stream: .*at byte \d+, op \d+/);
    await expect(applyBatch(ns, Buffer.from('nonsense stream'))).rejects.toThrow(/bad magic/);
    const bad = new BatchBuilder();
    bad.addRule({ family: 'ip', table: TABLE, chain: 'svc-a', exprs: [{ name: 'nosuchexpr', raw: [[1, 'u32', 1]] }] }, 'rule with bad expr');
    await expect(applyBatch(ns, bad.finish())).rejects.toThrow(/unknown expression 'nosuchexpr'.*rule with bad expr/);
    await expect(getGeneration('kpb-native-does-not-exist')).rejects.toMatchObject({ errno: 'ENOENT' });
    await expect(getGeneration('../x')).rejects.toThrow(/invalid network namespace name/);
  });

  it('(f) getGeneration changes after a batch', async () => {
    const g0 = await getGeneration(ns);
    const b = new BatchBuilder();
    b.addChain({ family: 'ip', table: TABLE, name: 'gen-test' });
    await applyBatch(ns, b.finish());
    const g1 = await getGeneration(ns);
    expect(g1).not.toBe(g0);
    const d = new BatchBuilder();
    d.deleteChain({ family: 'ip', table: TABLE, name: 'gen-test' });
    await applyBatch(ns, d.finish());
    expect(await getGeneration(ns)).not.toBe(g1);
    expect(nftListRuleset(ns)).toBe(reference);
  });

  it('(g) a batch bound to the current generation commits; one bound to a stale generation is refused, nothing changes', async () => {
    const chain = (name: string) => {
      const b = new BatchBuilder();
      b.addChain({ family: 'ip', table: TABLE, name }, `chain ${name}`);
      return b.finish();
    };
    const g0 = await getGeneration(ns);
    await applyBatch(ns, chain('bound-now'), { generation: g0 });
    const g1 = await getGeneration(ns);
    expect(g1).toBe(g0 + 1);
    expect(nftListRuleset(ns)).toContain('chain bound-now');

    const before = nftListRuleset(ns);
    const refused = applyBatch(ns, chain('bound-stale'), { generation: g0 });
    await expect(refused).rejects.toMatchObject({ errno: 'ERESTART', label: 'batch begin/commit' });
    await expect(refused).rejects.toThrow(/ruleset generation is no longer \d+.*another writer committed/);
    expect(await getGeneration(ns)).toBe(g1);
    expect(nftListRuleset(ns)).toBe(before);
    expect((await listRuleset(ns, 'ip', TABLE)).chains.map((c) => c.name)).not.toContain('bound-stale');

    const d = new BatchBuilder();
    d.deleteChain({ family: 'ip', table: TABLE, name: 'bound-now' });
    await applyBatch(ns, d.finish(), { generation: g1 });
    expect(nftListRuleset(ns)).toBe(reference);
  });
});
