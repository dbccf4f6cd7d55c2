// The test ruleset, once as an nft script and once as a BatchBuilder batch that mirrors the
// netlink messages `nft --debug=netlink -f` sends for the script.
import { BatchBuilder, NFT_DATA_VERDICT, NFT_SET_F, NFT_META_KEY, NFT_PAYLOAD_BASE, NFT_NAT_TYPE, NF_NAT_RANGE, NFT_NG, NFPROTO } from '../index.ts';
import type { Expr } from '../index.ts';

export const TABLE = 'kpbtest';

export const NFT_SCRIPT = `table ip kpbtest {
  map svcmap {
    type ipv4_addr . inet_proto . inet_service : verdict
    elements = { 10.96.0.1 . tcp . 80 : goto svc-a, 10.96.0.2 . udp . 53 : jump svc-b, 10.96.0.3 . tcp . 443 : drop }
  }
  chain svc-a { }
  chain svc-b { }
  chain nat-prerouting {
    type nat hook prerouting priority -100; policy accept;
    ip daddr . meta l4proto . th dport vmap @svcmap
    meta l4proto tcp dnat to 10.0.0.1:80
    meta mark set meta mark or 0x4000
    numgen random mod 2 vmap { 0 : goto svc-a, 1 : goto svc-b }
  }
  chain nat-postrouting {
    type nat hook postrouting priority 100; policy accept;
    masquerade fully-random
  }
}
`;

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** nft datatype ids: ipv4_addr 7, inet_proto 12, inet_service 13, integer 4; concatenations
 *  shift by 6 bits per field. */
const CONCAT_TYPE = (7 << 12) | (12 << 6) | 13;

// Set userdata exactly as nft 1.0.6 sends it (NFTNL_UDATA_SET_* TLVs: key/data byte order,
// typeof info, data interval). Opaque to the addon.
const SVCMAP_UDATA = hex('00 04 00 00 00 00 01 04 00 00 00 00 03 08 00 04 0d 00 00 00 01 00 06 04 00 00 00 00');
const ANONMAP_UDATA = hex('00 04 01 00 00 00 01 04 00 00 00 00 04 08 00 04 01 00 00 00 01 00 06 04 00 00 00 00');

const concatKey = (ip: string, proto: number, port: number) => {
  const b = Buffer.alloc(12);
  ip.split('.').forEach((o, i) => (b[i] = Number(o)));
  b[4] = proto;
  b.writeUInt16BE(port, 8);
  return b;
};
const u32host = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};

export const RULE_VMAP: Expr[] = [
  { name: 'payload', attrs: { dreg: 1, base: NFT_PAYLOAD_BASE.network, offset: 16, len: 4 } },
  { name: 'meta', attrs: { key: NFT_META_KEY.l4proto, dreg: 9 } },
  { name: 'payload', attrs: { dreg: 10, base: NFT_PAYLOAD_BASE.transport, offset: 2, len: 2 } },
  { name: 'lookup', attrs: { sreg: 1, dreg: 0, set: 'svcmap', set_id: 1 } },
];
export const RULE_DNAT: Expr[] = [
  { name: 'meta', attrs: { key: NFT_META_KEY.l4proto, dreg: 1 } },
  { name: 'cmp', attrs: { sreg: 1, op: 0, data: Uint8Array.of(6) } },
  { name: 'immediate', attrs: { dreg: 1, data: Uint8Array.of(10, 0, 0, 1) } },
  { name: 'immediate', attrs: { dreg: 2, data: Uint8Array.of(0, 80) } },
  {
    name: 'nat',
    attrs: { type: NFT_NAT_TYPE.dnat, family: NFPROTO.ip, reg_addr_min: 1, reg_proto_min: 2, flags: NF_NAT_RANGE.proto_specified },
  },
];
export const RULE_MARK: Expr[] = [
  { name: 'meta', attrs: { key: NFT_META_KEY.mark, dreg: 1 } },
  { name: 'bitwise', attrs: { sreg: 1, dreg: 1, op: 0, len: 4, mask: u32host(~0x4000 >>> 0), xor: u32host(0x4000) } },
  { name: 'meta', attrs: { key: NFT_META_KEY.mark, sreg: 1 } },
];
export const RULE_NUMGEN: Expr[] = [
  { name: 'numgen', attrs: { dreg: 1, modulus: 2, type: NFT_NG.random, offset: 0 } },
  { name: 'lookup', attrs: { sreg: 1, dreg: 0, set: '__map%d', set_id: 2 } },
];
export const RULE_MASQ: Expr[] = [{ name: 'masq', attrs: { flags: NF_NAT_RANGE.proto_random_fully } }];

export function buildTestBatch(b = new BatchBuilder()): BatchBuilder {
  const fam = 'ip' as const;
  const t = TABLE;
  b.addTable({ family: fam, name: t });
  b.addChain({ family: fam, table: t, name: 'svc-a' });
  b.addChain({ family: fam, table: t, name: 'svc-b' });
  b.addChain({ family: fam, table: t, name: 'nat-prerouting', hook: 'prerouting', priority: -100, type: 'nat', policy: 'accept' });
  b.addChain({ family: fam, table: t, name: 'nat-postrouting', hook: 'postrouting', priority: 100, type: 'nat', policy: 'accept' });
  const svcmap = { family: fam, table: t, name: 'svcmap', id: 1 };
  b.addSet({
    ...svcmap, flags: NFT_SET_F.map, keyType: CONCAT_TYPE, keyLen: 12, dataType: NFT_DATA_VERDICT, dataLen: 0,
    userdata: SVCMAP_UDATA,
  });
  b.addElements(svcmap, [
    { key: concatKey('10.96.0.1', 6, 80), verdict: { kind: 'goto', chain: 'svc-a' } },
    { key: concatKey('10.96.0.2', 17, 53), verdict: { kind: 'jump', chain: 'svc-b' } },
    { key: concatKey('10.96.0.3', 6, 443), verdict: { kind: 'drop' } },
  ]);
  const chain = 'nat-prerouting';
  b.addRule({ family: fam, table: t, chain, exprs: RULE_VMAP }, `rule 0 in chain ${chain}`);
  b.addRule({ family: fam, table: t, chain, exprs: RULE_DNAT }, `rule 1 in chain ${chain}`);
  b.addRule({ family: fam, table: t, chain, exprs: RULE_MARK }, `rule 2 in chain ${chain}`);
  const anon = { family: fam, table: t, name: '__map%d', id: 2 };
  b.addSet({
    ...anon, flags: NFT_SET_F.anonymous | NFT_SET_F.constant | NFT_SET_F.map, keyType: 4, keyLen: 4,
    dataType: NFT_DATA_VERDICT, dataLen: 0, size: 2, userdata: ANONMAP_UDATA,
  });
  b.addElements(anon, [
    { key: u32host(0), verdict: { kind: 'goto', chain: 'svc-a' } },
    { key: u32host(1), verdict: { kind: 'goto', chain: 'svc-b' } },
  ]);
  b.addRule({ family: fam, table: t, chain, exprs: RULE_NUMGEN }, `rule 3 in chain ${chain}`);
  b.addRule({ family: fam, table: t, chain: 'nat-postrouting', exprs: RULE_MASQ }, 'rule 0 in chain nat-postrouting');
  return b;
}

