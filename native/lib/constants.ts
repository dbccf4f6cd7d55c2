// Constants of libnftnl 1.2.4 and the kernel uapi (nf_tables, netfilter, ip/ipv6/tcp headers,
// icmp, rtnetlink) that the TypeScript side needs.
// test/constants.test.ts checks the values here against the installed headers (through the
// addon's `constants` export), so a libnftnl upgrade that renumbers anything fails loudly. Not
// checked: KIND_CODE (the op stream's own numbering, shared with src/batch_decoder.cc) and
// NFT_MSG.DESTROY* (newer than the kernel headers on Debian 12).

/** How an attribute value travels in the op stream (and how listings decode it). */
export type AttrKind = 'u8' | 'u16' | 'u32' | 's32' | 'u64' | 'str' | 'bytes' | 'expr';

/** Wire codes of the kinds (op stream). 's32' travels as u32. */
export const KIND_CODE = { u8: 1, u16: 2, u32: 3, s32: 3, u64: 4, str: 5, bytes: 6, expr: 7 } as const;

interface AttrSpec {
  readonly id: number;
  readonly kind: AttrKind;
  /** Name of the C constant (NFTNL_EXPR_…) this id must equal. */
  readonly c: string;
}

function expr<T extends Record<string, readonly [number, AttrKind]>>(
  prefix: string,
  attrs: T,
): { readonly [K in keyof T]: AttrSpec } {
  const out: Record<string, AttrSpec> = {};
  for (const [name, [id, kind]] of Object.entries(attrs)) {
    out[name] = { id, kind, c: `NFTNL_EXPR_${prefix}_${name.toUpperCase()}` };
  }
  return out as { readonly [K in keyof T]: AttrSpec };
}

/**
 * Expression attributes by libnftnl expression name. Keys are the C names without the
 * NFTNL_EXPR_<PREFIX>_ prefix, lower-cased. Kinds follow the libnftnl field types.
 */
export const EXPR = {
  payload: expr('PAYLOAD', {
    dreg: [1, 'u32'], base: [2, 'u32'], offset: [3, 'u32'], len: [4, 'u32'], sreg: [5, 'u32'],
    csum_type: [6, 'u32'], csum_offset: [7, 'u32'], flags: [8, 'u32'],
  }),
  numgen: expr('NG', { dreg: [1, 'u32'], modulus: [2, 'u32'], type: [3, 'u32'], offset: [4, 'u32'] }),
  meta: expr('META', { key: [1, 'u32'], dreg: [2, 'u32'], sreg: [3, 'u32'] }),
  rt: expr('RT', { key: [1, 'u32'], dreg: [2, 'u32'] }),
  socket: expr('SOCKET', { key: [1, 'u32'], dreg: [2, 'u32'], level: [3, 'u32'] }),
  cmp: expr('CMP', { sreg: [1, 'u32'], op: [2, 'u32'], data: [3, 'bytes'] }),
  range: expr('RANGE', { sreg: [1, 'u32'], op: [2, 'u32'], from_data: [3, 'bytes'], to_data: [4, 'bytes'] }),
  immediate: expr('IMM', {
    dreg: [1, 'u32'], data: [2, 'bytes'], verdict: [3, 's32'], chain: [4, 'str'], chain_id: [5, 'u32'],
  }),
  counter: expr('CTR', { packets: [1, 'u64'], bytes: [2, 'u64'] }),
  connlimit: expr('CONNLIMIT', { count: [1, 'u32'], flags: [2, 'u32'] }),
  bitwise: expr('BITWISE', {
    sreg: [1, 'u32'], dreg: [2, 'u32'], len: [3, 'u32'], mask: [4, 'bytes'], xor: [5, 'bytes'],
    op: [6, 'u32'], data: [7, 'bytes'],
  }),
  nat: expr('NAT', {
    type: [1, 'u32'], family: [2, 'u32'], reg_addr_min: [3, 'u32'], reg_addr_max: [4, 'u32'],
    reg_proto_min: [5, 'u32'], reg_proto_max: [6, 'u32'], flags: [7, 'u32'],
  }),
  lookup: expr('LOOKUP', { sreg: [1, 'u32'], dreg: [2, 'u32'], set: [3, 'str'], set_id: [4, 'u32'], flags: [5, 'u32'] }),
  dynset: expr('DYNSET', {
    sreg_key: [1, 'u32'], sreg_data: [2, 'u32'], op: [3, 'u32'], timeout: [4, 'u64'], set_name: [5, 'str'],
    set_id: [6, 'u32'], expr: [7, 'expr'], expressions: [8, 'expr'], flags: [9, 'u32'],
  }),
  log: expr('LOG', {
    prefix: [1, 'str'], group: [2, 'u16'], snaplen: [3, 'u32'], qthreshold: [4, 'u16'], level: [5, 'u32'], flags: [6, 'u32'],
  }),
  exthdr: expr('EXTHDR', {
    dreg: [1, 'u32'], type: [2, 'u8'], offset: [3, 'u32'], len: [4, 'u32'], flags: [5, 'u32'], op: [6, 'u32'], sreg: [7, 'u32'],
  }),
  ct: expr('CT', { dreg: [1, 'u32'], key: [2, 'u32'], dir: [3, 'u8'], sreg: [4, 'u32'] }),
  byteorder: expr('BYTEORDER', { dreg: [1, 'u32'], sreg: [2, 'u32'], op: [3, 'u32'], len: [4, 'u32'], size: [5, 'u32'] }),
  limit: expr('LIMIT', { rate: [1, 'u64'], unit: [2, 'u64'], burst: [3, 'u32'], type: [4, 'u32'], flags: [5, 'u32'] }),
  reject: expr('REJECT', { type: [1, 'u32'], code: [2, 'u8'] }),
  queue: expr('QUEUE', { num: [1, 'u16'], total: [2, 'u16'], flags: [3, 'u16'], sreg_qnum: [4, 'u32'] }),
  quota: expr('QUOTA', { bytes: [1, 'u64'], flags: [2, 'u32'], consumed: [3, 'u64'] }),
  masq: expr('MASQ', { flags: [1, 'u32'], reg_proto_min: [2, 'u32'], reg_proto_max: [3, 'u32'] }),
  redir: expr('REDIR', { reg_proto_min: [1, 'u32'], reg_proto_max: [2, 'u32'], flags: [3, 'u32'] }),
  hash: expr('HASH', {
    sreg: [1, 'u32'], dreg: [2, 'u32'], len: [3, 'u32'], modulus: [4, 'u32'], seed: [5, 'u32'], offset: [6, 'u32'], type: [7, 'u32'],
  }),
  fib: expr('FIB', { dreg: [1, 'u32'], result: [2, 'u32'], flags: [3, 'u32'] }),
  objref: expr('OBJREF', { imm_type: [1, 'u32'], imm_name: [2, 'str'], set_sreg: [3, 'u32'], set_name: [4, 'str'], set_id: [5, 'u32'] }),
  last: expr('LAST', { msecs: [1, 'u64'], set: [2, 'u32'] }),
} as const;

// Object attributes (libnftnl enums). Kinds must match the C++ decoder's tables.
export const TABLE_ATTR = { name: 0, family: 1, flags: 2, use: 3, handle: 4, userdata: 5, owner: 6 } as const;
export const CHAIN_ATTR = {
  name: 0, family: 1, table: 2, hooknum: 3, prio: 4, policy: 5, use: 6, bytes: 7, packets: 8, handle: 9,
  type: 10, dev: 11, devices: 12, flags: 13, id: 14, userdata: 15,
} as const;
export const RULE_ATTR = {
  family: 0, table: 1, chain: 2, handle: 3, compat_proto: 4, compat_flags: 5, position: 6, userdata: 7, id: 8, position_id: 9,
} as const;
export const SET_ATTR = {
  table: 0, name: 1, flags: 2, key_type: 3, key_len: 4, data_type: 5, data_len: 6, family: 7, id: 8, policy: 9,
  desc_size: 10, timeout: 11, gc_interval: 12, userdata: 13, obj_type: 14, handle: 15, desc_concat: 16,
} as const;
export const SET_ELEM_ATTR = {
  flags: 0, key: 1, verdict: 2, chain: 3, data: 4, timeout: 5, expiration: 6, userdata: 7, objref: 9, key_end: 10,
} as const;

// Kernel uapi (nf_tables.h, netfilter.h, nf_nat.h, netlink.h).
export const NFT_MSG = {
  NEWTABLE: 0, DELTABLE: 2, NEWCHAIN: 3, DELCHAIN: 5, NEWRULE: 6, DELRULE: 8, NEWSET: 9, DELSET: 11,
  NEWSETELEM: 12, DELSETELEM: 14, GETGEN: 16,
  // kernel >= 6.3, not in older headers: delete that ignores missing objects.
  DESTROYTABLE: 26, DESTROYCHAIN: 27, DESTROYRULE: 28, DESTROYSET: 29, DESTROYSETELEM: 30,
} as const;
export const NLM_F = { REPLACE: 0x100, EXCL: 0x200, CREATE: 0x400, APPEND: 0x800 } as const;
export const NFPROTO = { inet: 1, ip: 2, ip6: 10 } as const;
export type Family = keyof typeof NFPROTO;
export const HOOK = { prerouting: 0, input: 1, forward: 2, output: 3, postrouting: 4 } as const;
export const NF_VERDICT = { drop: 0, accept: 1 } as const;
/** nft_verdicts (negative values travel as u32 two's complement). */
export const NFT_VERDICT = { continue: -1, break: -2, jump: -3, goto: -4, return: -5 } as const;
export const NFT_REG = { verdict: 0, r1: 1, r2: 2, r3: 3, r4: 4 } as const;
/** 32-bit registers: NFT_REG32_00 = 8 … NFT_REG32_15 = 23. */
export const NFT_REG32_00 = 8;
export const NFT_SET_F = {
  anonymous: 0x1, constant: 0x2, interval: 0x4, map: 0x8, timeout: 0x10, eval: 0x20, object: 0x40, concat: 0x80, expr: 0x100,
} as const;
export const NFT_PAYLOAD_BASE = { ll: 0, network: 1, transport: 2, inner: 3 } as const;
export const NFT_CMP_OP = { eq: 0, neq: 1, lt: 2, lte: 3, gt: 4, gte: 5 } as const;
export const NFT_META_KEY = {
  len: 0, protocol: 1, priority: 2, mark: 3, iif: 4, oif: 5, iifname: 6, oifname: 7, iftype: 8, oiftype: 9,
  skuid: 10, skgid: 11, nftrace: 12, rtclassid: 13, secmark: 14, nfproto: 15, l4proto: 16, bri_iifname: 17,
  bri_oifname: 18, pkttype: 19, cpu: 20, iifgroup: 21, oifgroup: 22, cgroup: 23, prandom: 24,
} as const;
export const NFT_NAT_TYPE = { snat: 0, dnat: 1 } as const;
export const NF_NAT_RANGE = {
  map_ips: 0x1, proto_specified: 0x2, proto_random: 0x4, persistent: 0x8, proto_random_fully: 0x10, proto_offset: 0x20, netmap: 0x40,
} as const;
export const NFT_NG = { incremental: 0, random: 1 } as const;
export const NFT_LOOKUP_F_INV = 1;
export const NFT_BITWISE_OP = { bool: 0, lshift: 1, rshift: 2 } as const;
export const NFT_CT_KEY = {
  state: 0, direction: 1, status: 2, mark: 3, secmark: 4, expiration: 5, helper: 6, l3protocol: 7, src: 8, dst: 9,
  protocol: 10, proto_src: 11, proto_dst: 12,
} as const;
export const NFT_FIB_RESULT = { unspec: 0, oif: 1, oifname: 2, addrtype: 3 } as const;
export const NFT_FIB_F = { saddr: 1, daddr: 2, mark: 4, iif: 8, oif: 16, present: 32 } as const;
export const NFT_REJECT = { icmp_unreach: 0, tcp_rst: 1, icmpx_unreach: 2 } as const;
export const NFT_DYNSET_OP = { add: 0, update: 1, delete: 2 } as const;
/** Data type of verdict maps (NFT_DATA_VERDICT). */
export const NFT_DATA_VERDICT = 0xffffff00;
/** NFT_SET_ELEM_INTERVAL_END: the element ends an interval. */
export const NFT_SET_ELEM_INTERVAL_END = 1;
/** NF_CT_STATE_BIT(IP_CT_NEW): the `ct state new` bit. */
export const NF_CT_STATE_NEW_BIT = 8;
/** RTN_LOCAL: the route type `fib … type local` compares with. */
export const RTN_LOCAL = 2;
/** The ICMP codes `reject` sends (port unreachable). */
export const ICMP_PORT_UNREACH = 3;
export const ICMPV6_PORT_UNREACH = 4;
/** IP protocol numbers (IPPROTO_*). */
export const IPPROTO = { tcp: 6, udp: 17, sctp: 132 } as const;
/** Offsets of the address fields in the IPv4 / IPv6 header (offsetof iphdr / ipv6hdr). */
export const IP_HEADER_OFFSET = { ip: { saddr: 12, daddr: 16 }, ip6: { saddr: 8, daddr: 24 } } as const;
/** Offset of the destination port in the TCP, UDP and SCTP headers (`th dport`). */
export const TH_DPORT_OFFSET = 2;
/** USERDATA TLV types (libnftnl udata.h): comments of tables, chains and rules. */
export const NFTNL_UDATA_COMMENT = { table: 0, chain: 0, rule: 0 } as const;
/** USERDATA TLV types of sets (NFTNL_UDATA_SET_*). */
export const NFTNL_UDATA_SET = {
  keybyteorder: 0, databyteorder: 1, merge_elements: 2, key_typeof: 3, data_typeof: 4, data_interval: 6, comment: 7,
} as const;
/** USERDATA TLV type of set element flags, and its half-open-interval bit. */
export const NFTNL_UDATA_SET_ELEM_FLAGS = 1;
export const NFTNL_SET_ELEM_F_INTERVAL_OPEN = 1;
