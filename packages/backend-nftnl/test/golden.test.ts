/**
 * The encoder against what nft 1.0.6 generates (no kernel needed): for one chain per statement
 * kind (test/kitchen.ts), in both families, every rule's expressions and attributes equal the
 * golden ones — the same ruleset loaded by `nft -f` and listed back (test/make-golden.ts; the
 * `debug` lines are the `nft --debug=netlink` form). Sets: flags, key type/length, timeout, size
 * and USERDATA byte for byte; anonymous set elements (interval linearisation) too.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { NFT_DATA_VERDICT, NFT_MSG } from '@kpb/native';
import type { ListedExpr } from '@kpb/native';
import { NftnlEncoder } from '../src/encode.ts';
import { kitchenSink } from './kitchen.ts';
import { namedAttrs, readStream } from './stream.ts';
import type { StreamOp } from './stream.ts';

interface Golden {
  chains: { name: string; userdata?: string; rules: { debug: string[]; userdata?: string; exprs: ListedExpr[] }[] }[];
  sets: { name: string; flags: number; keyType: number; keyLen: number; dataType?: number; dataLen?: number; timeout?: number; size?: number; userdata?: string; elements: { key: string; data?: string; flags?: number; userdata?: string }[] }[];
}

/**
 * Attributes the kernel fills in or normalises when it stores an expression (so the listing has
 * them although nft does not send them): nat max registers and the MAP_IPS flag, the dynset
 * timeout and lookup flags reported as 0, and set ids (never dumped).
 */
const KERNEL_FILLED: Record<string, (golden: Record<string, unknown>, sent: Record<string, unknown>) => void> = {
  nat: (g, s) => {
    if (s.reg_addr_min !== undefined) g.reg_addr_max = undefined;
    if (s.reg_proto_min !== undefined) g.reg_proto_max = undefined;
    if (typeof g.flags === 'number' && s.reg_addr_min !== undefined) g.flags = g.flags & ~0x1;
    // `dnat ip to … map @m` is sent without flags: the kernel sets PROTO_SPECIFIED for the proto register too
    if (typeof g.flags === 'number' && s.flags === undefined && s.reg_proto_min !== undefined) g.flags = (g.flags & ~0x2) || undefined;
  },
  dynset: (g, s) => {
    if (s.timeout === undefined && g.timeout === 0) g.timeout = undefined;
    if (s.flags === undefined && g.flags === 0) g.flags = undefined;
    s.set_id = undefined;
  },
  lookup: (g, s) => {
    if (s.flags === undefined && g.flags === 0) g.flags = undefined;
    s.set_id = undefined;
    // anonymous sets: nft sends the template, the kernel lists the instance
    if (typeof s.set === 'string' && s.set.includes('%d') && typeof g.set === 'string' && /^__(set|map)\d+$/.test(g.set)) g.set = s.set;
  },
};

const clean = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

for (const family of ['ip', 'ip6'] as const) {
  describe(`encoder vs nft 1.0.6 (${family})`, () => {
    const golden = JSON.parse(readFileSync(new URL(`__golden__/exprs-${family}.json`, import.meta.url), 'utf8')) as Golden;
    const rs = kitchenSink(family);
    const enc = new NftnlEncoder(family, rs.table);
    enc.replace(rs);
    const ops = readStream(enc.finish());
    const rulesOf = (chain: string): StreamOp[] => ops.filter((o) => o.type === NFT_MSG.NEWRULE && o.attrs.some((a) => a.id === 2 && a.value === chain));

    for (const gc of golden.chains) {
      if (!gc.rules.length) continue;
      it(`chain ${gc.name}: ${gc.rules[0]!.debug.join(' ')}`, () => {
        const rules = rulesOf(gc.name);
        expect(rules).toHaveLength(gc.rules.length);
        rules.forEach((r, i) => {
          const g = gc.rules[i]!;
          const sent = r.exprs!.map((e) => ({ name: e.name, attrs: namedAttrs(e) as Record<string, unknown> }));
          const want = g.exprs.map((e) => ({ name: e.name, attrs: { ...e.attrs } as Record<string, unknown> }));
          expect(sent.map((e) => e.name)).toEqual(want.map((e) => e.name));
          sent.forEach((s, k) => {
            KERNEL_FILLED[s.name]?.(want[k]!.attrs, s.attrs);
            expect(clean(s.attrs), `${gc.name} rule ${i} expr ${k} ${s.name} (${g.debug[k] ?? ''})`).toEqual(clean(want[k]!.attrs));
          });
          const ud = r.attrs.find((a) => a.id === 7)?.value;
          expect(ud instanceof Uint8Array ? Buffer.from(ud).toString('hex') : undefined).toEqual(g.userdata);
        });
      });
    }

    it("named sets' and maps' elements: key, data (data maps) and userdata (element comments) as nft writes them", () => {
      const hex = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : undefined);
      for (const g of golden.sets.filter((x) => !x.name.startsWith('__') && x.elements.length > 0)) {
        const sent = ops.filter((o) => o.type === NFT_MSG.NEWSETELEM && o.attrs.find((a) => a.id === 1)?.value === g.name).flatMap((o) => o.elems!);
        const elems = sent.map((e) => {
          const ud = hex(e.find((a) => a.id === 7)?.value);
          const data = hex(e.find((a) => a.id === 4)?.value);
          return { key: hex(e.find((a) => a.id === 1)?.value)!, ...(data ? { data } : {}), ...(ud ? { userdata: ud } : {}) };
        });
        const gElems = g.elements.map((e) => ({ key: e.key, ...(e.data ? { data: e.data } : {}), ...(e.userdata ? { userdata: e.userdata } : {}) }));
        const sortK = (x: { key: string }[]) => [...x].sort((a, b) => (a.key < b.key ? -1 : 1));
        expect(sortK(elems), g.name).toEqual(sortK(gElems));
      }
      expect(golden.sets.some((x) => x.elements.some((e) => e.userdata !== undefined && !x.name.startsWith('__')))).toBe(true);
    });

    it('sets and maps: flags, key, timeout, size, userdata and anonymous set elements', () => {
      const sets = ops.filter((o) => o.type === NFT_MSG.NEWSET);
      const attr = (o: StreamOp, id: number) => o.attrs.find((a) => a.id === id)?.value;
      const hex = (v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : undefined);
      const named = sets.filter((s) => !String(attr(s, 1)).includes('%d'));
      const anon = sets.filter((s) => String(attr(s, 1)).includes('%d'));
      const gNamed = golden.sets.filter((s) => !s.name.startsWith('__'));
      const gAnon = golden.sets.filter((s) => s.name.startsWith('__'));
      expect(named.map((s) => attr(s, 1))).toEqual(gNamed.map((s) => s.name));
      expect(anon).toHaveLength(gAnon.length);
      [...named, ...anon].forEach((s, i) => {
        const g = [...gNamed, ...gAnon][i]!;
        expect({ flags: attr(s, 2), keyType: attr(s, 3), keyLen: attr(s, 4), userdata: hex(attr(s, 13)) }, g.name).toEqual({
          flags: g.flags,
          keyType: g.keyType,
          keyLen: g.keyLen,
          userdata: g.userdata,
        });
        // data maps: the value's concatenated type and padded length
        if (g.dataLen && g.dataType !== NFT_DATA_VERDICT) expect({ dataType: attr(s, 5), dataLen: attr(s, 6) }, g.name).toEqual({ dataType: g.dataType, dataLen: g.dataLen });
        const timeout = attr(s, 11);
        expect(timeout === undefined ? undefined : Number(timeout)).toEqual(g.timeout);
        if (g.name.startsWith('__')) expect(attr(s, 10)).toEqual(g.size);
        // elements of anonymous sets come right after the set
        if (g.name.startsWith('__')) {
          const elemOp = ops[ops.indexOf(s) + 1]!;
          expect(elemOp.type).toBe(NFT_MSG.NEWSETELEM);
          const elems = elemOp.elems!.map((e) => {
            const key = hex(e.find((a) => a.id === 1)?.value)!;
            const flags = e.find((a) => a.id === 0)?.value as number | undefined;
            const ud = hex(e.find((a) => a.id === 7)?.value);
            return { key, ...(flags ? { flags } : {}), ...(ud ? { userdata: ud } : {}) };
          });
          const gElems = g.elements.map((e) => ({ key: e.key, ...(e.flags ? { flags: e.flags } : {}), ...(e.userdata ? { userdata: e.userdata } : {}) }));
          const sortK = (x: { key: string }[]) => [...x].sort((a, b) => (a.key < b.key ? -1 : 1));
          expect(sortK(elems)).toEqual(sortK(gElems as { key: string }[]));
        }
      });
    });
  });
}
