// Benchmark: a 10k-element verdict map + 10k chains with 3 rules each, as one batch, in a
// fresh network namespace, straight through the addon. Run as root: `npx tsx bench/measure/native-batch.ts [services]`.
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import {
  applyBatch, listRuleset, BatchBuilder, NFT_DATA_VERDICT, NFT_SET_F, NFT_META_KEY, NFT_PAYLOAD_BASE, NFT_NAT_TYPE,
  NF_NAT_RANGE, NFPROTO,
} from '@kpb/native';
import type { Expr } from '@kpb/native';

const services = Number(process.argv[2] ?? 10_000);
if (!Number.isInteger(services) || services < 1 || services > 100_000) throw new Error('services: 1..100000');
if (process.getuid?.() !== 0) throw new Error('run as root (creates a network namespace)');

const ns = `kpb-native-${process.pid}-bench`;
const fam = 'ip' as const;
const table = 'kpbbench';

function u32host(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}
const MASK = u32host(~0x4000);
const XOR = u32host(0x4000);
const TCP = Uint8Array.of(6);
const PORT80 = Uint8Array.of(0, 80);

function build(): BatchBuilder {
  const b = new BatchBuilder(8 << 20);
  b.addTable({ family: fam, name: table });
  b.addChain({ family: fam, table, name: 'services', hook: 'prerouting', priority: -100, type: 'nat', policy: 'accept' });
  const map = { family: fam, table, name: 'service-ips', id: b.allocSetId() };
  b.addSet({ ...map, flags: NFT_SET_F.map, keyType: (7 << 12) | (12 << 6) | 13, keyLen: 12, dataType: NFT_DATA_VERDICT, dataLen: 0 });
  const elems = [];
  for (let i = 0; i < services; i++) {
    const name = `svc-${i}`;
    b.addChain({ family: fam, table, name }, `chain ${name}`);
    const exprs1: Expr[] = [
      { name: 'meta', attrs: { key: NFT_META_KEY.mark, dreg: 1 } },
      { name: 'bitwise', attrs: { sreg: 1, dreg: 1, op: 0, len: 4, mask: MASK, xor: XOR } },
      { name: 'meta', attrs: { key: NFT_META_KEY.mark, sreg: 1 } },
    ];
    const exprs2: Expr[] = [{ name: 'counter', attrs: { packets: 0, bytes: 0 } }];
    const exprs3: Expr[] = [
      { name: 'meta', attrs: { key: NFT_META_KEY.l4proto, dreg: 1 } },
      { name: 'cmp', attrs: { sreg: 1, op: 0, data: TCP } },
      { name: 'immediate', attrs: { dreg: 1, data: Uint8Array.of(10, 1 + (i >> 16), (i >> 8) & 255, i & 255) } },
      { name: 'immediate', attrs: { dreg: 2, data: PORT80 } },
      { name: 'nat', attrs: { type: NFT_NAT_TYPE.dnat, family: NFPROTO.ip, reg_addr_min: 1, reg_proto_min: 2, flags: NF_NAT_RANGE.proto_specified } },
    ];
    b.addRule({ family: fam, table, chain: name, exprs: exprs1 }, `rule 0 in chain ${name}`);
    b.addRule({ family: fam, table, chain: name, exprs: exprs2 }, `rule 1 in chain ${name}`);
    b.addRule({ family: fam, table, chain: name, exprs: exprs3 }, `rule 2 in chain ${name}`);
    const key = Buffer.alloc(12);
    key[0] = 10; key[1] = 96 + (i >> 16); key[2] = (i >> 8) & 255; key[3] = i & 255;
    key[4] = 6;
    key.writeUInt16BE(80, 8);
    elems.push({ key, verdict: { kind: 'goto' as const, chain: name } });
  }
  b.addElements(map, elems);
  b.addRule({
    family: fam, table, chain: 'services', exprs: [
      { name: 'payload', attrs: { dreg: 1, base: NFT_PAYLOAD_BASE.network, offset: 16, len: 4 } },
      { name: 'meta', attrs: { key: NFT_META_KEY.l4proto, dreg: 9 } },
      { name: 'payload', attrs: { dreg: 10, base: NFT_PAYLOAD_BASE.transport, offset: 2, len: 2 } },
      { name: 'lookup', attrs: { sreg: 1, dreg: 0, set: 'service-ips' } },
    ],
  }, 'dispatch rule');
  return b;
}

execFileSync('ip', ['netns', 'add', ns]);
try {
  // warm-up encode (JIT), then the measured one
  build().finish();
  const t0 = performance.now();
  const stream = build().finish();
  const encodeMs = performance.now() - t0;
  const t1 = performance.now();
  const r = await applyBatch(ns, stream);
  const applyMs = performance.now() - t1;
  const t2 = performance.now();
  const l = await listRuleset(ns, fam, table);
  const listMs = performance.now() - t2;
  const elems = l.sets.find((s) => s.name === 'service-ips')?.elements.length ?? 0;
  const rules = l.chains.reduce((n, c) => n + c.rules.length, 0);
  const f = (v: number) => v.toFixed(1).padStart(8);
  console.log(`services              ${services}`);
  console.log(`op stream             ${(stream.length / 1e6).toFixed(2)} MB`);
  console.log(`netlink batch         ${(r.bytes / 1e6).toFixed(2)} MB, ${r.messages} messages`);
  console.log(`TS encode         ${f(encodeMs)} ms`);
  console.log(`C++ decode+build  ${f(r.buildMs)} ms`);
  console.log(`send + kernel     ${f(r.sendMs)} ms`);
  console.log(`applyBatch total  ${f(applyMs)} ms`);
  console.log(`userspace total   ${f(encodeMs + r.buildMs)} ms (encode + build)`);
  console.log(`listRuleset       ${f(listMs)} ms (${l.chains.length} chains, ${rules} rules, ${elems} elements)`);
} finally {
  execFileSync('ip', ['netns', 'del', ns]);
}
