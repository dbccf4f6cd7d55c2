/**
 * Byte helpers: addresses, prefixes, element keys, and the USERDATA TLVs nft 1.0.6 writes
 * (libnftnl `nftnl_udata`: u8 type, u8 length, value). Values learnt with
 * `nft --debug=netlink,mnl -f` (see test/golden.test.ts).
 */
import { IPPROTO, NFT_META_KEY, NFT_REG32_00, NFTNL_SET_ELEM_F_INTERVAL_OPEN, NFTNL_UDATA_COMMENT, NFTNL_UDATA_SET, NFTNL_UDATA_SET_ELEM_FLAGS } from '@kpb/native';
import { ipFromBytes, ipToBytes, parseCIDR } from '@kpb/model/net';
import type { KeyField, KeyType, L4Proto, NftFamily } from '@kpb/backend-nft';

const v4Cache = new Map<string, Uint8Array>();
const v6Cache = new Map<string, Uint8Array>();
const CACHE_MAX = 1_000_000;

const FAMILY_NAME = { ip: 'IPv4', ip6: 'IPv6' } as const;

/** Network-order bytes of an address of the family (cached; never mutate the result). */
export function addrBytes(ip: string, family: NftFamily): Uint8Array {
  const cache = family === 'ip' ? v4Cache : v6Cache;
  let b = cache.get(ip);
  if (b) return b;
  b = ipToBytes(ip);
  if (!b || b.length !== (family === 'ip' ? 4 : 16)) throw new Error(`not an ${FAMILY_NAME[family]} address: ${JSON.stringify(ip)}`);
  if (cache.size > CACHE_MAX) cache.clear();
  cache.set(ip, b);
  return b;
}

/**
 * A canonical dotted-quad IPv4 address (what `ipToBytes` accepts: four parts 0..255, no leading
 * zeros) as an unsigned 32-bit number; -1 for any other text. Parsed in place: cheaper than the
 * cache lookup of `addrBytes`, which misses the CPU caches at every one of the ~10⁵ addresses of
 * a large table.
 */
export function ipv4Word(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let word = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return -1;
      word = word * 256 + part;
      part = 0;
      digits = 0;
      dots++;
      continue;
    }
    const d = c - 48;
    // a digit after a leading 0 would be a leading zero
    if (d < 0 || d > 9 || (digits === 1 && part === 0)) return -1;
    part = part * 10 + d;
    digits++;
    if (part > 255) return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return word * 256 + part;
}

export interface Prefix {
  readonly addr: Uint8Array;
  /** Prefix length; undefined for a plain address. */
  readonly bits: number | undefined;
}

/** Per family, so that a lookup needs no key string built from the family and the value. */
const prefixCache: Readonly<Record<NftFamily, Map<string, Prefix>>> = { ip: new Map(), ip6: new Map() };

/** An address or CIDR of the family (CIDRs as strict as the model: no host bits set). */
export function parsePrefix(value: string, family: NftFamily): Prefix {
  const slash = value.indexOf('/');
  if (slash < 0) return { addr: addrBytes(value, family), bits: undefined };
  const cache = prefixCache[family];
  let p = cache.get(value);
  if (p) return p;
  const cidr = parseCIDR(value);
  if (!cidr.ok || cidr.family !== FAMILY_NAME[family]) throw new Error(`bad prefix ${JSON.stringify(value)}`);
  p = { addr: addrBytes(value.slice(0, slash), family), bits: Number(value.slice(slash + 1)) };
  if (cache.size > CACHE_MAX) cache.clear();
  cache.set(value, p);
  return p;
}

/** What a match of a CIDR loads and compares, as nft writes it. */
export interface PrefixMatch {
  /** Bytes of the address to load: the prefix's when it is whole bytes (nft shortens the load), else all. */
  readonly len: number;
  /** The `bitwise` mask, for a prefix that is not whole bytes. */
  readonly mask: Uint8Array | undefined;
  /** What `cmp` compares: the prefix's bytes, or the masked address. */
  readonly data: Uint8Array;
}

const prefixMatchCache: Readonly<Record<NftFamily, Map<string, PrefixMatch>>> = { ip: new Map(), ip6: new Map() };

/**
 * The match of a CIDR of the family, cached by text: the same few prefixes (the cluster CIDR)
 * recur in thousands of rules, and each would otherwise allocate its mask and masked address.
 * Never mutate the result.
 */
export function prefixMatch(value: string, family: NftFamily): PrefixMatch {
  const cache = prefixMatchCache[family];
  let m = cache.get(value);
  if (m) return m;
  const { addr, bits } = parsePrefix(value, family);
  const full = addr.length;
  const b = bits ?? full * 8;
  if (b > 0 && b % 8 === 0) m = { len: b / 8, mask: undefined, data: addr.subarray(0, b / 8) };
  else {
    const mask = prefixMask(b, full);
    const data = new Uint8Array(full);
    for (let i = 0; i < full; i++) data[i] = addr[i]! & mask[i]!;
    m = { len: full, mask, data };
  }
  if (cache.size > CACHE_MAX) cache.clear();
  cache.set(value, m);
  return m;
}

/** Mask of a prefix length over `len` bytes. */
function prefixMask(bits: number, len: number): Uint8Array {
  const m = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    const b = bits - 8 * i;
    m[i] = b >= 8 ? 0xff : b <= 0 ? 0 : (0xff << (8 - b)) & 0xff;
  }
  return m;
}

export const PROTO_NUM: Readonly<Record<string, number>> = IPPROTO;
export const PROTO_NAME: Readonly<Record<number, L4Proto>> = Object.fromEntries(Object.entries(IPPROTO).map(([name, n]) => [n, name as L4Proto]));

/** u32 in host (little-endian) order: registers compared with cmp/bitwise on host values. */
export function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

export function u16be(v: number): Uint8Array {
  return Uint8Array.of((v >> 8) & 0xff, v & 0xff);
}

// ---- key types -------------------------------------------------------------------------------

/** nft's datatype ids (nft's own numbering, in no kernel or libnftnl header). */
export const DATATYPE: Readonly<Record<KeyType, number>> = { ipv4_addr: 7, ipv6_addr: 8, inet_proto: 12, inet_service: 13, integer: 4 };
const DATATYPE_NAME: Readonly<Record<number, KeyType>> = { 4: 'integer', 7: 'ipv4_addr', 8: 'ipv6_addr', 12: 'inet_proto', 13: 'inet_service' };
/** nft's datatype id of `integer` (the key of `numgen … vmap` maps). */
export const NFT_TYPE_INTEGER = 4;
/** Bytes of a key type's value (unpadded). */
export const KEY_BYTES: Readonly<Record<KeyType, number>> = { ipv4_addr: 4, ipv6_addr: 16, inet_proto: 1, inet_service: 2, integer: 4 };

/**
 * nft's register numbering for a concatenated key: the key starts at NFT_REG_1 (= 32-bit register
 * 4); a 32-bit word offset within it that falls on a 128-bit register boundary is named NFT_REG_n,
 * any other NFT_REG32_xx.
 */
export function concatReg(word: number): number {
  const r = 4 + word;
  return r % 4 === 0 ? r / 4 : r - 4 + NFT_REG32_00;
}

/** nft's concatenated type id: 6 bits per field. */
export function keyTypeId(types: readonly KeyType[]): number {
  let id = 0;
  for (const t of types) id = id * 64 + DATATYPE[t];
  return id;
}

export function keyTypesOf(id: number): KeyType[] | undefined {
  const out: KeyType[] = [];
  for (let guard = 0; id > 0 && guard < 8; guard++) {
    const t = DATATYPE_NAME[id % 64];
    if (!t) return undefined;
    out.unshift(t);
    id = Math.floor(id / 64);
  }
  return out.length ? out : undefined;
}

/** Key length: one field alone is unpadded; concatenations pad each field to 4 bytes. */
export function keyLength(types: readonly KeyType[]): number {
  if (types.length === 1) return KEY_BYTES[types[0]!];
  let n = 0;
  for (const t of types) n += (KEY_BYTES[t] + 3) & ~3;
  return n;
}

// ---- userdata --------------------------------------------------------------------------------

function tlv(type: number, value: Uint8Array): Uint8Array {
  if (value.length > 255) throw new RangeError('userdata value longer than 255 bytes');
  const out = new Uint8Array(2 + value.length);
  out[0] = type;
  out[1] = value.length;
  out.set(value, 2);
  return out;
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const encoder = new TextEncoder();
const cstr = (s: string) => concatBytes([encoder.encode(s), Uint8Array.of(0)]);

const commentCache = new Map<string, Uint8Array>();
/** Comment TLV (the type of tables, chains and rules unless given; sets use NFTNL_UDATA_SET.comment). */
export function commentTlv(comment: string, type: number = NFTNL_UDATA_COMMENT.rule): Uint8Array {
  const k = `${type}:${comment}`;
  let b = commentCache.get(k);
  if (!b) {
    b = tlv(type, cstr(comment));
    if (commentCache.size > 10_000) commentCache.clear();
    commentCache.set(k, b);
  }
  return b;
}

/** nft's byte order ids (nft's own enum byteorder, in no kernel or libnftnl header). */
const BYTEORDER = { invalid: 0, host: 1, big: 2 } as const;

/** Named verdict map with a concatenated key: what nft 1.0.6 writes. */
export function verdictMapUserdata(comment: string | undefined): Uint8Array {
  return concatBytes([
    tlv(NFTNL_UDATA_SET.keybyteorder, u32le(BYTEORDER.invalid)),
    tlv(NFTNL_UDATA_SET.databyteorder, u32le(BYTEORDER.invalid)),
    tlv(NFTNL_UDATA_SET.key_typeof, concatBytes([tlv(0, u32le(13)), tlv(1, new Uint8Array(0))])),
    tlv(NFTNL_UDATA_SET.data_interval, u32le(0)),
    ...(comment !== undefined ? [commentTlv(comment, NFTNL_UDATA_SET.comment)] : []),
  ]);
}

const BIG_KEY_BYTEORDER = tlv(NFTNL_UDATA_SET.keybyteorder, u32le(BYTEORDER.big));

/** Named set of addresses (big-endian key). Built once without a comment: every affinity set has none. */
export function addrSetUserdata(comment: string | undefined): Uint8Array {
  return comment === undefined ? BIG_KEY_BYTEORDER : concatBytes([BIG_KEY_BYTEORDER, commentTlv(comment, NFTNL_UDATA_SET.comment)]);
}

/** Anonymous `numgen … vmap { … }` map: host-order integer key. */
export const NUMGEN_MAP_USERDATA = concatBytes([
  tlv(NFTNL_UDATA_SET.keybyteorder, u32le(BYTEORDER.host)),
  tlv(NFTNL_UDATA_SET.databyteorder, u32le(BYTEORDER.invalid)),
  tlv(NFTNL_UDATA_SET.data_typeof, concatBytes([tlv(0, u32le(1)), tlv(1, new Uint8Array(0))])),
  tlv(NFTNL_UDATA_SET.data_interval, u32le(0)),
]);

/** Payload protocol / template field ids nft records in `typeof` userdata (nft's own numbering). */
const TYPEOF_PROTO = { ip: 12, ip6: 13 } as const;
const TYPEOF_FIELD = { ip: { saddr: 11, daddr: 12 }, ip6: { saddr: 8, daddr: 9 } } as const;

/**
 * nft's expression type ids in `typeof` userdata (its enum expr_types) and the protocol / field
 * ids of `th dport`. Each expression is a TLV list: 0 = the type, 1 = the expression's own TLVs.
 */
const TYPEOF_EXPR = { payload: 7, meta: 9, concat: 13, numgen: 23 } as const;
const TYPEOF_TH = { proto: 11, dport: 2 } as const;
const TYPEOF_NUMGEN_RANDOM = 1;

const typeofExpr = (type: number, attrs: readonly Uint8Array[]): Uint8Array => concatBytes([tlv(0, u32le(type)), tlv(1, concatBytes(attrs.map((a, i) => tlv(i, a))))]);
const typeofPayload = (proto: number, field: number): Uint8Array => typeofExpr(TYPEOF_EXPR.payload, [u32le(proto), u32le(field)]);
/** `a . b . c`: the parts in order, each by its position. */
const typeofConcat = (parts: readonly Uint8Array[]): Uint8Array => typeofExpr(TYPEOF_EXPR.concat, parts);

function typeofKeyField(field: KeyField, family: NftFamily): Uint8Array {
  switch (field) {
    case 'saddr':
    case 'daddr':
      return typeofPayload(TYPEOF_PROTO[family], TYPEOF_FIELD[family][field]);
    case 'l4proto':
      return typeofExpr(TYPEOF_EXPR.meta, [u32le(NFT_META_KEY.l4proto)]);
    case 'dport':
      return typeofPayload(TYPEOF_TH.proto, TYPEOF_TH.dport);
  }
}

/**
 * Data map `typeof <key> . numgen random mod 1 : ip daddr . th dport` (layout maps), as nft
 * 1.0.6 writes it: byte orders invalid, the key's and the data's typeof concatenations (the
 * numgen part with its mode, modulus 1 and offset 0), data_interval 0.
 */
export function dataMapUserdata(family: NftFamily, key: readonly KeyField[], comment: string | undefined): Uint8Array {
  const numgen = typeofExpr(TYPEOF_EXPR.numgen, [u32le(TYPEOF_NUMGEN_RANDOM), u32le(1), u32le(0)]);
  const keyTypeof = typeofConcat([...key.map((f) => typeofKeyField(f, family)), numgen]);
  const dataTypeof = typeofConcat([typeofKeyField('daddr', family), typeofKeyField('dport', family)]);
  return concatBytes([
    tlv(NFTNL_UDATA_SET.keybyteorder, u32le(BYTEORDER.invalid)),
    tlv(NFTNL_UDATA_SET.databyteorder, u32le(BYTEORDER.invalid)),
    tlv(NFTNL_UDATA_SET.key_typeof, keyTypeof),
    tlv(NFTNL_UDATA_SET.data_typeof, dataTypeof),
    tlv(NFTNL_UDATA_SET.data_interval, u32le(0)),
    ...(comment !== undefined ? [commentTlv(comment, NFTNL_UDATA_SET.comment)] : []),
  ]);
}

/**
 * Named set declared with a concatenated `type` (`ipv4_addr . inet_proto . inet_service`): nft
 * 1.0.6 records no byte order (invalid) and a `typeof` of an empty concatenation.
 */
export function concatSetUserdata(comment: string | undefined): Uint8Array {
  return concatBytes([
    tlv(NFTNL_UDATA_SET.keybyteorder, u32le(BYTEORDER.invalid)),
    tlv(NFTNL_UDATA_SET.key_typeof, typeofConcat([])),
    ...(comment !== undefined ? [commentTlv(comment, NFTNL_UDATA_SET.comment)] : []),
  ]);
}

const u32At = (b: Uint8Array | undefined): number | undefined => (b?.length === 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) : undefined);

/** The parts of a `typeof` concatenation in userdata, each as [expression type, its TLVs]. */
function typeofParts(concat: Uint8Array | undefined): [number | undefined, Map<number, Uint8Array>][] | undefined {
  if (!concat) return undefined;
  const top = parseTlvs(concat);
  if (u32At(top.get(0)) !== TYPEOF_EXPR.concat) return undefined;
  const parts = [...parseTlvs(top.get(1) ?? new Uint8Array(0)).entries()].sort((a, b) => a[0] - b[0]);
  return parts.map(([, part]) => {
    const p = parseTlvs(part);
    return [u32At(p.get(0)), parseTlvs(p.get(1) ?? new Uint8Array(0))];
  });
}

function keyFieldOfTypeof(type: number | undefined, attrs: Map<number, Uint8Array>, family: NftFamily): KeyField | undefined {
  const a0 = u32At(attrs.get(0));
  const a1 = u32At(attrs.get(1));
  if (type === TYPEOF_EXPR.meta) return a0 === NFT_META_KEY.l4proto ? 'l4proto' : undefined;
  if (type !== TYPEOF_EXPR.payload) return undefined;
  if (a0 === TYPEOF_TH.proto) return a1 === TYPEOF_TH.dport ? 'dport' : undefined;
  if (a0 !== TYPEOF_PROTO[family]) return undefined;
  return a1 === TYPEOF_FIELD[family].saddr ? 'saddr' : a1 === TYPEOF_FIELD[family].daddr ? 'daddr' : undefined;
}

/**
 * The packet fields of a data map's key, read from its userdata (the inverse of
 * `dataMapUserdata`): undefined unless the key is `<fields> . numgen random mod 1` and the data
 * `<family> daddr . th dport`, the only data maps kpb writes.
 */
export function dataMapKeyFields(userdataHex: string | undefined, family: NftFamily): KeyField[] | undefined {
  if (!userdataHex) return undefined;
  const udata = parseTlvs(fromHex(userdataHex));
  const key = typeofParts(udata.get(NFTNL_UDATA_SET.key_typeof));
  const data = typeofParts(udata.get(NFTNL_UDATA_SET.data_typeof));
  if (!key || key.length < 2 || !data || data.length !== 2) return undefined;
  const [ngType, ng] = key[key.length - 1]!;
  const randomMod1 = ngType === TYPEOF_EXPR.numgen && u32At(ng.get(0)) === TYPEOF_NUMGEN_RANDOM && u32At(ng.get(1)) === 1 && u32At(ng.get(2)) === 0;
  if (!randomMod1) return undefined;
  if (keyFieldOfTypeof(...data[0]!, family) !== 'daddr' || keyFieldOfTypeof(...data[1]!, family) !== 'dport') return undefined;
  const fields = key.slice(0, -1).map(([type, attrs]) => keyFieldOfTypeof(type, attrs, family));
  return fields.every((f) => f !== undefined) ? (fields as KeyField[]) : undefined;
}

/** Anonymous set of addresses from `ip saddr { … }`: payload typeof, merge flag for intervals. */
export function anonAddrSetUserdata(family: NftFamily, field: 'saddr' | 'daddr', interval: boolean): Uint8Array {
  return concatBytes([
    tlv(NFTNL_UDATA_SET.keybyteorder, u32le(BYTEORDER.big)),
    ...(interval ? [tlv(NFTNL_UDATA_SET.merge_elements, u32le(1))] : []),
    tlv(
      NFTNL_UDATA_SET.key_typeof,
      concatBytes([tlv(0, u32le(7)), tlv(1, concatBytes([tlv(0, u32le(TYPEOF_PROTO[family])), tlv(1, u32le(TYPEOF_FIELD[family][field]))]))]),
    ),
  ]);
}

/** The TLV type of a set element's comment (libnftnl udata.h NFTNL_UDATA_SET_ELEM_COMMENT; the addon exports only the flags type). */
export const NFTNL_UDATA_SET_ELEM_COMMENT = 0;

/** Set element userdata of a comment, as nft writes it (`… comment "ns/svc:port" : drop`). */
export function elemCommentUserdata(comment: string): Uint8Array {
  return commentTlv(comment, NFTNL_UDATA_SET_ELEM_COMMENT);
}

/** Set element userdata: the interval is open at the top. */
export const ELEM_OPEN_INTERVAL_USERDATA = tlv(NFTNL_UDATA_SET_ELEM_FLAGS, u32le(NFTNL_SET_ELEM_F_INTERVAL_OPEN));

/** Parse TLVs (one level). */
export function parseTlvs(bytes: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  for (let i = 0; i + 2 <= bytes.length && out.size < 64; ) {
    const type = bytes[i]!;
    const len = bytes[i + 1]!;
    out.set(type, bytes.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return out;
}

/** A NUL-terminated string value. */
export function cstring(b: Uint8Array): string {
  const z = b.indexOf(0);
  return new TextDecoder().decode(z < 0 ? b : b.subarray(0, z));
}

// ---- address intervals (anonymous interval sets) -------------------------------------------------

const bytesToBig = (b: Uint8Array): bigint => {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
};
const bigToBytes = (v: bigint, len: number): Uint8Array => {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
};

interface IntervalElement {
  readonly key: Uint8Array;
  /** NFT_SET_ELEM_INTERVAL_END */
  readonly end: boolean;
  /** The last interval reaches the top of the address space. */
  readonly open: boolean;
}

/**
 * nft's linearisation of an anonymous interval set of prefixes/addresses: overlapping and
 * adjacent ranges merged, ascending; an END element at 0 unless the first range starts there;
 * each range's start, then its END at last+1 (none when the range reaches the top: the start
 * element is marked open instead). Returns the elements and the set size nft declares.
 */
export function intervalElements(values: readonly string[], family: NftFamily): { elements: IntervalElement[]; size: number } {
  const len = family === 'ip' ? 4 : 16;
  const max = (1n << BigInt(8 * len)) - 1n;
  const ranges: [bigint, bigint][] = values.map((v) => {
    const p = parsePrefix(v, family);
    const bits = p.bits ?? len * 8;
    const hostBits = BigInt(len * 8 - bits);
    const start = (bytesToBig(p.addr) >> hostBits) << hostBits;
    return [start, start + (1n << hostBits) - 1n];
  });
  ranges.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1] + 1n) {
      if (r[1] > last[1]) last[1] = r[1];
    } else merged.push([r[0], r[1]]);
  }
  const elements: IntervalElement[] = [];
  let size = 0;
  if (merged.length && merged[0]![0] !== 0n) {
    elements.push({ key: new Uint8Array(len), end: true, open: false });
    size++;
  }
  for (const [start, end] of merged) {
    const open = end === max;
    elements.push({ key: bigToBytes(start, len), end: false, open });
    if (!open) elements.push({ key: bigToBytes(end + 1n, len), end: true, open: false });
    size += 2;
  }
  return { elements, size };
}

/** Inverse of intervalElements: the ranges as prefixes where they are prefixes, else `a-b`. */
export function intervalsToValues(keys: readonly { key: Uint8Array; end: boolean }[], family: NftFamily): string[] {
  const len = family === 'ip' ? 4 : 16;
  const max = (1n << BigInt(8 * len)) - 1n;
  const sorted = [...keys].sort((a, b) => {
    const x = bytesToBig(a.key);
    const y = bytesToBig(b.key);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const out: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!;
    if (e.end) continue;
    const start = bytesToBig(e.key);
    const next = sorted[i + 1];
    const last = next && next.end ? bytesToBig(next.key) - 1n : max;
    const size = last - start + 1n;
    const bitsHost = size > 0n && (size & (size - 1n)) === 0n ? size.toString(2).length - 1 : -1;
    const ip = ipFromBytes(bigToBytes(start, len));
    if (bitsHost >= 0 && (start & (size - 1n)) === 0n) out.push(bitsHost === 0 ? ip : `${ip}/${len * 8 - bitsHost}`);
    else out.push(`${ip}-${ipFromBytes(bigToBytes(last, len))}`);
  }
  return out;
}

const nibble = (c: number): number => (c <= 57 ? c - 48 : (c | 32) - 87);

/** Bytes of a hex string (the addon's listing attributes): a loop, no Buffer per value (a listing has ~10⁶ of them). */
export function fromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = (nibble(h.charCodeAt(2 * i)) << 4) | nibble(h.charCodeAt(2 * i + 1));
  return out;
}
