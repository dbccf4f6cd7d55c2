/**
 * NftRuleset → the addon's op stream, written straight into BatchBuilder's low-level API (no
 * object per expression). Every statement kind becomes exactly the libnftnl expressions that
 * `nft` 1.0.6 generates for the statement's text (`formatStatement`); the table, chains, sets
 * and maps carry the same flags, key types and USERDATA. See README.md for the table.
 */
import {
  BatchBuilder,
  CHAIN_ATTR,
  EXPR,
  HOOK,
  ICMP_PORT_UNREACH,
  ICMPV6_PORT_UNREACH,
  IP_HEADER_OFFSET,
  NF_CT_STATE_NEW_BIT,
  NF_NAT_RANGE,
  NF_VERDICT,
  NFPROTO,
  NFT_BITWISE_OP,
  NFT_CMP_OP,
  NFT_CT_KEY,
  NFT_DATA_VERDICT,
  NFT_DYNSET_OP,
  NFT_FIB_F,
  NFT_FIB_RESULT,
  NFT_LOOKUP_F_INV,
  NFT_META_KEY,
  NFT_MSG,
  NFT_NAT_TYPE,
  NFT_NG,
  NFT_PAYLOAD_BASE,
  NFT_REG,
  NFT_REJECT,
  NFT_SET_ELEM_INTERVAL_END,
  NFT_SET_F,
  NFT_VERDICT,
  NLM_F,
  RTN_LOCAL,
  RULE_ATTR,
  SET_ATTR,
  SET_ELEM_ATTR,
  TABLE_ATTR,
  TH_DPORT_OFFSET,
} from '@kpb/native';
import type { Family } from '@kpb/native';
import { STREAM_PARTS, writeOps, writeReplace, writeStreamReplace } from '@kpb/backend-nft';
import type { RulesetStream, StreamPart } from '@kpb/backend-nft';
import type { ElementKey, KeyField, KeyType, NftChain, NftDataElement, NftDataMap, NftFamily, NftMap, NftMapElement, NftOp, NftRule, NftRuleset, NftSet, NftSink, Statement, Verdict } from '@kpb/backend-nft';
import {
  addrBytes,
  addrSetUserdata,
  anonAddrSetUserdata,
  commentTlv,
  concatReg,
  concatSetUserdata,
  dataMapUserdata,
  elemCommentUserdata,
  DATATYPE,
  ELEM_OPEN_INTERVAL_USERDATA,
  intervalElements,
  ipv4Word,
  KEY_BYTES,
  keyLength,
  keyTypeId,
  NFT_TYPE_INTEGER,
  NUMGEN_MAP_USERDATA,
  prefixMatch,
  PROTO_NUM,
  u16be,
  u32le,
  verdictMapUserdata,
} from './bytes.ts';

// ---- constants (ids of the attributes used below) ------------------------------------------------

const P = EXPR.payload;
const PAY_DREG = P.dreg.id, PAY_BASE = P.base.id, PAY_OFF = P.offset.id, PAY_LEN = P.len.id;
const CMP_SREG = EXPR.cmp.sreg.id, CMP_OP = EXPR.cmp.op.id, CMP_DATA = EXPR.cmp.data.id;
const META_KEY = EXPR.meta.key.id, META_DREG = EXPR.meta.dreg.id, META_SREG = EXPR.meta.sreg.id;
const BW = EXPR.bitwise;
const IMM_DREG = EXPR.immediate.dreg.id, IMM_DATA = EXPR.immediate.data.id, IMM_VERDICT = EXPR.immediate.verdict.id, IMM_CHAIN = EXPR.immediate.chain.id;
const LK = EXPR.lookup;
const NG = EXPR.numgen;
const NAT = EXPR.nat;
const DS = EXPR.dynset;
const CT_DREG = EXPR.ct.dreg.id, CT_KEY = EXPR.ct.key.id;
const FIB_DREG = EXPR.fib.dreg.id, FIB_RESULT = EXPR.fib.result.id, FIB_FLAGS = EXPR.fib.flags.id;
const REJ_TYPE = EXPR.reject.type.id, REJ_CODE = EXPR.reject.code.id;
const MASQ_FLAGS = EXPR.masq.flags.id;

const NETWORK = NFT_PAYLOAD_BASE.network;
const TRANSPORT = NFT_PAYLOAD_BASE.transport;
const REG1 = NFT_REG.r1;
const REG2 = NFT_REG.r2;

const ZERO4 = new Uint8Array(4);
const ZERO16 = new Uint8Array(16);
const ONES4 = Uint8Array.of(0xff, 0xff, 0xff, 0xff);
const CT_NEW_MASK = u32le(NF_CT_STATE_NEW_BIT);
const RTN_LOCAL_DATA = u32le(RTN_LOCAL);
const PROTO_BYTE: Readonly<Record<string, Uint8Array>> = Object.fromEntries(Object.entries(PROTO_NUM).map(([name, n]) => [name, Uint8Array.of(n)]));

const smallU32 = new Map<number, Uint8Array>();
function u32leCached(v: number): Uint8Array {
  let b = smallU32.get(v);
  if (!b) {
    b = u32le(v);
    if (smallU32.size > 100_000) smallU32.clear();
    smallU32.set(v, b);
  }
  return b;
}
const portCache: Uint8Array[] = [];
function portBytes(port: number): Uint8Array {
  return (portCache[port] ??= u16be(port));
}

function verdictCode(v: Verdict): number {
  switch (v.kind) {
    case 'accept':
      return NF_VERDICT.accept;
    case 'drop':
      return NF_VERDICT.drop;
    case 'return':
      return NFT_VERDICT.return;
    case 'jump':
      return NFT_VERDICT.jump;
    case 'goto':
      return NFT_VERDICT.goto;
  }
}

// ---- expression templates ------------------------------------------------------------------------
// Most expressions of a table are the same few byte strings (a payload load, a cmp head, a
// verdict head): each is written once by the writers below into a scratch builder and then
// copied with `raw`, and only the bytes that vary (cmp data, chain names) are written per rule.

/** The bytes `write` appends to an empty builder, copied out, without the last `trim` bytes. */
function template(write: (b: BatchBuilder) => void, trim = 0): Uint8Array {
  const b = new BatchBuilder(256);
  write(b);
  const w = b.written();
  return w.slice(0, w.length - trim);
}

const EMPTY = new Uint8Array(0);
/** What an empty byte value ends with (its u32 length) and an empty string (u16 length, NUL): cut from a head. */
const EMPTY_BYTES_TAIL = 4;
const EMPTY_STR_TAIL = 3;

const PAYLOADS = new Map<number, Uint8Array>();
const CMP_HEADS = new Map<number, Uint8Array>();
const METAS = new Map<number, Uint8Array>();
const IMMEDIATE_HEADS = new Map<number, Uint8Array>();
const VERDICT_HEADS = new Map<number, Uint8Array>();
const VERDICTS = new Map<number, Uint8Array>();
const NUMGENS = new Map<number, Uint8Array>();
const DNATS = new Map<number, Uint8Array>();
const DNATS_FROM_MAP = new Map<number, Uint8Array>();
const TEMPLATES_MAX = 10_000;

/**
 * Writes the template of `key` and keeps it in `cache`: called as `cache.get(key) ?? remember(…)`,
 * so that the writer closure is made on first use only, not for each of ~10⁵ expressions.
 */
function remember(cache: Map<number, Uint8Array>, key: number, write: (b: BatchBuilder) => void, trim = 0): Uint8Array {
  if (cache.size > TEMPLATES_MAX) cache.clear();
  const t = template(write, trim);
  cache.set(key, t);
  return t;
}

function writePayload(b: BatchBuilder, dreg: number, base: number, offset: number, len: number): void {
  b.beginExpr('payload');
  b.attrU32(PAY_DREG, dreg);
  b.attrU32(PAY_BASE, base);
  b.attrU32(PAY_OFF, offset);
  b.attrU32(PAY_LEN, len);
  b.endAttrs();
}

function writeCmp(b: BatchBuilder, op: number, data: Uint8Array): void {
  b.beginExpr('cmp');
  b.attrU32(CMP_SREG, REG1);
  b.attrU32(CMP_OP, op);
  b.attrBytes(CMP_DATA, data);
  b.endAttrs();
}

function writeMeta(b: BatchBuilder, key: number, dreg: number): void {
  b.beginExpr('meta');
  b.attrU32(META_KEY, key);
  b.attrU32(META_DREG, dreg);
  b.endAttrs();
}

function writeBitwise(b: BatchBuilder, len: number, mask: Uint8Array, xor: Uint8Array): void {
  b.beginExpr('bitwise');
  b.attrU32(BW.sreg.id, REG1);
  b.attrU32(BW.dreg.id, REG1);
  b.attrU32(BW.op.id, NFT_BITWISE_OP.bool);
  b.attrU32(BW.len.id, len);
  b.attrBytes(BW.mask.id, mask);
  b.attrBytes(BW.xor.id, xor);
  b.endAttrs();
}

function writeImmediateData(b: BatchBuilder, dreg: number, data: Uint8Array): void {
  b.beginExpr('immediate');
  b.attrU32(IMM_DREG, dreg);
  b.attrBytes(IMM_DATA, data);
  b.endAttrs();
}

/** A verdict immediate; `chain` for jump and goto. */
function writeVerdict(b: BatchBuilder, code: number, chain: string | undefined): void {
  b.beginExpr('immediate');
  b.attrU32(IMM_DREG, NFT_REG.verdict);
  b.attrU32(IMM_VERDICT, code);
  if (chain !== undefined) b.attrStr(IMM_CHAIN, chain);
  b.endAttrs();
}

function writeNumgen(b: BatchBuilder, mod: number, dreg: number): void {
  b.beginExpr('numgen');
  b.attrU32(NG.dreg.id, dreg);
  b.attrU32(NG.modulus.id, mod);
  b.attrU32(NG.type.id, NFT_NG.random);
  b.attrU32(NG.offset.id, 0);
  b.endAttrs();
}

/** The nat expression of a DNAT to registers 1 (address) and 2 (port) of family `nfproto`. */
function writeDnat(b: BatchBuilder, nfproto: number): void {
  b.beginExpr('nat');
  b.attrU32(NAT.type.id, NFT_NAT_TYPE.dnat);
  b.attrU32(NAT.family.id, nfproto);
  b.attrU32(NAT.reg_addr_min.id, REG1);
  b.attrU32(NAT.reg_proto_min.id, REG2);
  b.attrU32(NAT.flags.id, NF_NAT_RANGE.proto_specified);
  b.endAttrs();
}

/**
 * The nat expression of `dnat ip to <key> map @m`: address and port from the data map's value
 * (address in register 1, the port in the 32-bit word after the address). nft sends no flags
 * here; the kernel derives MAP_IPS and PROTO_SPECIFIED from the registers.
 */
function writeDnatFromMap(b: BatchBuilder, nfproto: number, protoReg: number): void {
  b.beginExpr('nat');
  b.attrU32(NAT.type.id, NFT_NAT_TYPE.dnat);
  b.attrU32(NAT.family.id, nfproto);
  b.attrU32(NAT.reg_addr_min.id, REG1);
  b.attrU32(NAT.reg_proto_min.id, protoReg);
  b.endAttrs();
}

/** Data type and length of a set's value: verdict maps', or a data map's `addr . port`. */
interface SetData {
  readonly type: number;
  readonly len: number;
}
const VERDICT_DATA: SetData = { type: NFT_DATA_VERDICT, len: 0 };

/** Test-only hooks (see test/kernel.test.ts). */
export interface EncodeHooks {
  /** Called before the rules of a chain of the table of `family` are written; may return extra rules to append. */
  readonly extraRules?: (chain: string, family: NftFamily) => readonly NftRule[] | undefined;
}

const addrLen = (family: NftFamily): number => (family === 'ip' ? 4 : 16);
const hasAnonSet = (s: Statement): boolean => (s.kind === 'match-addr-anon' && s.values.length > 1) || s.kind === 'numgen-vmap';

/**
 * Writes one table's objects: the op-stream sink of the op walk (`writeReplace`, `writeOps` from
 * the nft backend). One instance per batch: it remembers the set ids it allocated, so that
 * lookups in the same batch refer to sets by id (as nft does).
 */
export class NftnlEncoder implements NftSink {
  /** Where ops go (`writeTo` switches it). */
  b: BatchBuilder;
  /** Labels by op index (only when `labels` is true). */
  readonly labels: string[] = [];
  private readonly fam: Family;
  private readonly full: boolean;
  private readonly hooks: EncodeHooks;
  private readonly setIds = new Map<string, number>();
  private readonly anonIds: number[] = [];
  /** The id the next named set or map gets. */
  private nextSetId = 1;
  /** The id the next anonymous set gets, when they are numbered apart (`numberSets`); else `nextSetId`'s. */
  private nextAnonId: number | undefined;
  /** The table attribute of every rule and of every chain, encoded once. */
  private readonly ruleTableAttr: Uint8Array;
  private readonly chainTableAttr: Uint8Array;
  /** Key scratch buffer for map elements (the builder copies it). */
  private readonly keyBuf = new Uint8Array(40);
  /** Views of the key scratch buffer by key length (a key's bytes without a new view per element). */
  private readonly keyViews: Uint8Array[] = [];
  /** Scratch buffers of an IPv4 address (`addr`) and of a data map value (the builder copies them). */
  private readonly addr4 = new Uint8Array(4);
  private readonly dataBuf: Uint8Array;

  /**
   * `labels`: true writes a readable label per op (`rule 3 in chain X`); false writes none, so the
   * addon names a failing op `op N` — the backend then encodes the same ops again with labels to
   * name it.
   */
  constructor(
    readonly family: NftFamily,
    readonly table: string,
    options: { readonly labels?: boolean; readonly initialBytes?: number; readonly hooks?: EncodeHooks; readonly builder?: BatchBuilder } = {},
  ) {
    this.b = options.builder ?? new BatchBuilder(options.initialBytes ?? 64 * 1024);
    this.fam = family;
    this.full = options.labels ?? true;
    this.hooks = options.hooks ?? {};
    this.dataBuf = new Uint8Array(addrLen(family) + 4);
    this.ruleTableAttr = template((t) => t.attrStr(RULE_ATTR.table, table));
    this.chainTableAttr = template((t) => t.attrStr(CHAIN_ATTR.table, table));
  }

  private begin(type: number, family: Family, flags: number, label: string): void {
    if (this.full) this.labels.push(label);
    this.b.beginOp(type, family, flags, label);
  }

  /** Ops from here on go to `b` (a part of the batch written apart, see `encodeStream`). */
  writeTo(b: BatchBuilder): void {
    this.b = b;
  }

  /**
   * Named sets and maps from here on get ids from `named` up; anonymous sets from `anonymous` up
   * (when given). A batch written in parts numbers its sets as the batch written in one go would.
   */
  numberSets(named: number, anonymous?: number): void {
    this.nextSetId = named;
    if (anonymous !== undefined) this.nextAnonId = anonymous;
  }

  // ---- whole rulesets and operation lists ----------------------------------------------------------

  /** Atomic replace: add + delete the table (never fails), then the whole definition. */
  replace(rs: NftRuleset): void {
    writeReplace(this, rs);
  }

  /** The operations of a ruleset diff (`diffRulesets`), in order. */
  ops(ops: readonly NftOp[]): void {
    writeOps(this, ops);
  }

  get opCount(): number {
    return this.b.opCount;
  }

  finish(): Buffer {
    return this.b.finish();
  }

  // ---- objects ---------------------------------------------------------------------------------

  addTable(comment: string | undefined): void {
    const b = this.b;
    this.begin(NFT_MSG.NEWTABLE, this.fam, NLM_F.CREATE, this.full ? `table ${this.family} ${this.table}` : '');
    b.beginAttrs();
    b.attrStr(TABLE_ATTR.name, this.table);
    b.attrU32(TABLE_ATTR.flags, 0);
    if (comment !== undefined) b.attrBytes(TABLE_ATTR.userdata, commentTlv(comment));
    b.endAttrs();
    b.endOp();
  }

  deleteTable(): void {
    const b = this.b;
    this.begin(NFT_MSG.DELTABLE, this.fam, 0, this.full ? `delete table ${this.family} ${this.table}` : '');
    b.beginAttrs();
    b.attrStr(TABLE_ATTR.name, this.table);
    b.endAttrs();
    b.endOp();
  }

  addChain(c: NftChain): void {
    const b = this.b;
    this.begin(NFT_MSG.NEWCHAIN, this.fam, NLM_F.CREATE, this.full ? `chain ${c.name}` : '');
    b.beginAttrs();
    b.raw(this.chainTableAttr, 1);
    b.attrStr(CHAIN_ATTR.name, c.name);
    if (c.base) {
      b.attrU32(CHAIN_ATTR.hooknum, HOOK[c.base.hook]);
      b.attrU32(CHAIN_ATTR.prio, c.base.priority);
      b.attrStr(CHAIN_ATTR.type, c.base.type);
      b.attrU32(CHAIN_ATTR.policy, NF_VERDICT[c.base.policy]);
    }
    if (c.comment !== undefined) b.attrBytes(CHAIN_ATTR.userdata, commentTlv(c.comment));
    b.endAttrs();
    b.endOp();
  }

  private chainRefOp(type: number, name: string, label: string): void {
    const b = this.b;
    this.begin(type, this.fam, 0, this.full ? label : '');
    b.beginAttrs();
    b.attrStr(type === NFT_MSG.DELRULE ? RULE_ATTR.table : CHAIN_ATTR.table, this.table);
    b.attrStr(type === NFT_MSG.DELRULE ? RULE_ATTR.chain : CHAIN_ATTR.name, name);
    b.endAttrs();
    if (type === NFT_MSG.DELRULE) b.u16(0);
    b.endOp();
  }

  flushChain(name: string): void {
    this.chainRefOp(NFT_MSG.DELRULE, name, `flush chain ${name}`);
  }

  deleteChain(name: string): void {
    this.chainRefOp(NFT_MSG.DELCHAIN, name, `delete chain ${name}`);
  }

  private newSet(name: string, flags: number, keyType: number, keyLen: number, data: SetData | undefined, userdata: Uint8Array, timeoutMs: number | undefined, size: number | undefined, label: string): number {
    const b = this.b;
    const id = (flags & NFT_SET_F.anonymous) !== 0 && this.nextAnonId !== undefined ? this.nextAnonId++ : this.nextSetId++;
    this.begin(NFT_MSG.NEWSET, this.fam, NLM_F.CREATE, this.full ? label : '');
    b.beginAttrs();
    b.attrStr(SET_ATTR.table, this.table);
    b.attrStr(SET_ATTR.name, name);
    b.attrU32(SET_ATTR.flags, flags);
    b.attrU32(SET_ATTR.key_type, keyType);
    b.attrU32(SET_ATTR.key_len, keyLen);
    if (data) {
      b.attrU32(SET_ATTR.data_type, data.type);
      b.attrU32(SET_ATTR.data_len, data.len);
    }
    b.attrU32(SET_ATTR.id, id);
    if (timeoutMs !== undefined) b.attrU64(SET_ATTR.timeout, timeoutMs);
    if (size !== undefined) b.attrU32(SET_ATTR.desc_size, size);
    b.attrBytes(SET_ATTR.userdata, userdata);
    b.endAttrs();
    b.endOp();
    return id;
  }

  addSet(s: NftSet): void {
    const concat = s.keyType.length > 1;
    const t = s.keyType[0]!;
    if (!concat && t !== 'ipv4_addr' && t !== 'ipv6_addr') throw new Error(`set ${s.name}: key type ${t} is not supported`);
    if (concat && (s.flags.length > 0 || s.timeoutSeconds !== undefined)) throw new Error(`set ${s.name}: a concatenated key with flags is not supported`);
    let flags = 0;
    if (s.flags.includes('timeout')) flags |= NFT_SET_F.timeout;
    if (s.flags.includes('dynamic')) flags |= NFT_SET_F.eval;
    const timeoutMs = s.timeoutSeconds !== undefined ? s.timeoutSeconds * 1000 : undefined;
    const userdata = concat ? concatSetUserdata(s.comment) : addrSetUserdata(s.comment);
    const id = this.newSet(s.name, flags, keyTypeId(s.keyType), keyLength(s.keyType), undefined, userdata, timeoutMs, undefined, `set ${s.name}`);
    this.setIds.set(s.name, id);
  }

  addMap(m: NftMap): void {
    if (m.keyType.length < 2) throw new Error(`map ${m.name}: only concatenated keys are supported`);
    const id = this.newSet(m.name, NFT_SET_F.map, keyTypeId(m.keyType), keyLength(m.keyType), VERDICT_DATA, verdictMapUserdata(m.comment), undefined, undefined, `map ${m.name}`);
    this.setIds.set(m.name, id);
  }

  deleteSet(kind: 'set' | 'map', name: string): void {
    const b = this.b;
    this.begin(NFT_MSG.DELSET, this.fam, 0, this.full ? `delete ${kind} ${name}` : '');
    b.beginAttrs();
    b.attrStr(SET_ATTR.table, this.table);
    b.attrStr(SET_ATTR.name, name);
    b.endAttrs();
    b.endOp();
  }

  // ---- elements --------------------------------------------------------------------------------

  private beginElements(type: number, flags: number, name: string, id: number | undefined, count: number, label: string): void {
    const b = this.b;
    this.begin(type, this.fam, flags, this.full ? label : '');
    b.beginAttrs();
    b.attrStr(SET_ATTR.table, this.table);
    b.attrStr(SET_ATTR.name, name);
    if (id !== undefined) b.attrU32(SET_ATTR.id, id);
    b.endAttrs();
    b.u32(count);
  }

  /**
   * An address's bytes, valid until the next call (every caller hands them to the builder, which
   * copies them): IPv4 parsed into a scratch array, anything else from `addrBytes`, which checks it.
   */
  private addr(ip: string): Uint8Array {
    const w = this.family === 'ip' ? ipv4Word(ip) : -1;
    if (w < 0) return addrBytes(ip, this.family);
    const b = this.addr4;
    b[0] = w >>> 24;
    b[1] = (w >>> 16) & 0xff;
    b[2] = (w >>> 8) & 0xff;
    b[3] = w & 0xff;
    return b;
  }

  /** A key's bytes: one address alone, or a concatenation written into the scratch buffer. */
  private key(key: ElementKey, types: readonly KeyType[]): Uint8Array {
    if (types.length === 1) {
      const v = key[0];
      if (typeof v !== 'string') throw new Error(`element ${String(v)} is not an address`);
      return this.addr(v);
    }
    // Every byte of the key is written (fields and their padding), so the scratch needs no clearing.
    const buf = this.keyBuf;
    let at = 0;
    for (let i = 0; i < types.length; i++) {
      const t = types[i]!;
      this.keyField(buf, at, t, key[i]);
      at += (KEY_BYTES[t] + 3) & ~3;
    }
    return (this.keyViews[at] ??= buf.subarray(0, at));
  }

  private keyField(buf: Uint8Array, at: number, t: KeyType, v: string | number | undefined): void {
    switch (t) {
      case 'ipv4_addr':
      case 'ipv6_addr':
        if (typeof v !== 'string') throw new Error(`element field ${String(v)} is not an address`);
        return this.addrInto(buf, at, v);
      case 'inet_proto': {
        const n = PROTO_NUM[v as string];
        if (n === undefined) throw new Error(`element field ${String(v)} is not a protocol`);
        buf[at] = n;
        buf[at + 1] = buf[at + 2] = buf[at + 3] = 0;
        return;
      }
      case 'inet_service':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) throw new Error(`element field ${String(v)} is not a port`);
        buf[at] = v >> 8;
        buf[at + 1] = v & 0xff;
        buf[at + 2] = buf[at + 3] = 0;
        return;
      case 'integer':
        // the numgen index: numgen writes its register in host byte order
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`element field ${String(v)} is not an index`);
        buf[at] = v & 0xff;
        buf[at + 1] = (v >>> 8) & 0xff;
        buf[at + 2] = (v >>> 16) & 0xff;
        buf[at + 3] = v >>> 24;
    }
  }

  /** Copies an address's bytes into `buf` at `at` (a loop: TypedArray#set costs more for 4 or 16 bytes). */
  private addrInto(buf: Uint8Array, at: number, ip: string): void {
    const a = this.addr(ip);
    for (let i = 0; i < a.length; i++) buf[at + i] = a[i]!;
  }

  addSetElements(name: string, keyType: readonly KeyType[], keys: readonly ElementKey[]): void {
    this.elements('add', 'set', name, keyType, keys, false);
  }

  /** A data map: concatenated key ending in the numgen index, value `addr . port` (each field padded to 4 bytes). */
  addDataMap(m: NftDataMap): void {
    if (m.keyType.length !== m.key.length + 1 || m.keyType[m.keyType.length - 1] !== 'integer') throw new Error(`map ${m.name}: the key must end in the endpoint index`);
    const data: SetData = { type: keyTypeId([this.family === 'ip' ? 'ipv4_addr' : 'ipv6_addr', 'inet_service']), len: addrLen(this.family) + 4 };
    const id = this.newSet(m.name, NFT_SET_F.map, keyTypeId(m.keyType), keyLength(m.keyType), data, dataMapUserdata(this.family, m.key, m.comment), undefined, undefined, `map ${m.name}`);
    this.setIds.set(m.name, id);
  }

  addDataMapElements(name: string, keyType: readonly KeyType[], elements: readonly NftDataElement[]): void {
    if (elements.length === 0) return;
    const b = this.b;
    this.beginElements(NFT_MSG.NEWSETELEM, NLM_F.CREATE, name, this.setIds.get(name), elements.length, this.full ? `elements of map ${name}` : '');
    const alen = addrLen(this.family);
    for (const e of elements) {
      if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) throw new Error(`map ${name}: bad port ${e.port}`);
      b.beginAttrs();
      b.attrBytes(SET_ELEM_ATTR.key, this.key(e.key, keyType));
      const data = this.dataBuf;
      this.addrInto(data, 0, e.addr);
      data[alen] = e.port >> 8;
      data[alen + 1] = e.port & 0xff;
      data[alen + 2] = 0;
      data[alen + 3] = 0;
      b.attrBytes(SET_ELEM_ATTR.data, data);
      b.endAttrs();
    }
    b.endOp();
  }

  addMapElements(name: string, keyType: readonly KeyType[], elements: readonly NftMapElement[]): void {
    this.elements('add', 'map', name, keyType, elements, true);
  }

  deleteElements(target: 'set' | 'map', name: string, keyType: readonly KeyType[], keys: readonly ElementKey[]): void {
    this.elements('delete', target, name, keyType, keys, false);
  }

  /** Elements of a named set or map: `elements` are map elements when `withVerdict`, else keys. */
  private elements(verb: 'add' | 'delete', target: 'set' | 'map', name: string, keyType: readonly KeyType[], elements: readonly NftMapElement[] | readonly ElementKey[], withVerdict: boolean): void {
    if (elements.length === 0) return;
    const b = this.b;
    const add = verb === 'add';
    this.beginElements(add ? NFT_MSG.NEWSETELEM : NFT_MSG.DELSETELEM, add ? NLM_F.CREATE : 0, name, this.setIds.get(name), elements.length, this.full ? `${add ? '' : 'delete '}elements of ${target} ${name}` : '');
    for (let i = 0; i < elements.length; i++) {
      const e = elements[i]!;
      b.beginAttrs();
      if (withVerdict) {
        const me = e as NftMapElement;
        b.attrBytes(SET_ELEM_ATTR.key, this.key(me.key, keyType));
        if (add) this.elemVerdict(me.verdict);
        if (add && me.comment !== undefined) b.attrBytes(SET_ELEM_ATTR.userdata, elemCommentUserdata(me.comment));
      } else {
        b.attrBytes(SET_ELEM_ATTR.key, this.key(e as ElementKey, keyType));
      }
      b.endAttrs();
    }
    b.endOp();
  }

  private elemVerdict(v: Verdict): void {
    this.b.attrU32(SET_ELEM_ATTR.verdict, verdictCode(v));
    if (v.kind === 'jump' || v.kind === 'goto') this.b.attrStr(SET_ELEM_ATTR.chain, v.chain);
  }

  // ---- rules -----------------------------------------------------------------------------------

  /** Appends rules to a chain (anonymous sets first, as nft sends them). */
  addRules(chain: string, rules: readonly NftRule[]): void {
    const extra = this.hooks.extraRules?.(chain, this.family);
    const all = extra?.length ? [...rules, ...extra] : rules;
    for (let r = 0; r < all.length; r++) this.addRule(chain, all[r]!, r);
  }

  private addRule(chain: string, rule: NftRule, index: number): void {
    const b = this.b;
    const st = rule.statements;
    let count = 0;
    let anon = 0;
    for (const s of st) {
      if (hasAnonSet(s)) this.anonIds[anon++] = this.anonSet(s, chain, index);
      count += this.exprCount(s);
    }
    this.begin(NFT_MSG.NEWRULE, this.fam, NLM_F.CREATE | NLM_F.APPEND, this.full ? `rule ${index} in chain ${chain}` : '');
    b.beginAttrs();
    b.raw(this.ruleTableAttr, 1);
    b.attrStr(RULE_ATTR.chain, chain);
    if (rule.comment !== undefined) b.attrBytes(RULE_ATTR.userdata, commentTlv(rule.comment));
    b.endAttrs();
    b.u16(count);
    anon = 0;
    for (const s of st) this.statement(s, hasAnonSet(s) ? this.anonIds[anon++] : undefined);
    b.endOp();
  }

  /** Number of expressions a statement becomes. */
  private exprCount(s: Statement): number {
    switch (s.kind) {
      case 'match-addr':
        return this.addrMatchCount(s.value);
      case 'match-addr-anon':
        return s.values.length === 1 ? this.addrMatchCount(s.values[0]!) : 2;
      case 'match-addr-in':
      case 'match-l4proto':
      case 'match-fib-local':
      case 'match-numgen':
      case 'set-update':
      case 'numgen-vmap':
        return 2;
      case 'match-dport':
        return 4;
      case 'match-ct-new':
      case 'match-mark-clear':
      case 'mark-or':
      case 'mark-xor':
      case 'dnat':
        return 3;
      case 'vmap':
      case 'match-key-in':
        return s.key.length + 1;
      case 'dnat-map':
        return s.key.length + 3;
      case 'masquerade':
      case 'reject':
      case 'verdict':
        return 1;
    }
  }

  private addrMatchCount(value: string): number {
    if (value.indexOf('/') < 0) return 2;
    return prefixMatch(value, this.family).mask ? 3 : 2;
  }

  /** The anonymous set or map a statement needs, written before its rule; returns its id. */
  private anonSet(s: Statement, chain: string, rule: number): number {
    const label = this.full ? `anonymous set of rule ${rule} in chain ${chain}` : '';
    if (s.kind === 'numgen-vmap') return this.numgenMap(s.mod, s.targets, label);
    if (s.kind !== 'match-addr-anon') throw new Error('not an anonymous set');
    return s.values.some((v) => v.includes('/')) ? this.anonIntervalSet(s.field, s.values, label) : this.anonAddrSet(s.field, s.values, label);
  }

  private numgenMap(mod: number, targets: readonly Verdict[], label: string): number {
    const b = this.b;
    const name = '__map%d';
    const id = this.newSet(name, NFT_SET_F.anonymous | NFT_SET_F.constant | NFT_SET_F.map, NFT_TYPE_INTEGER, 4, VERDICT_DATA, NUMGEN_MAP_USERDATA, undefined, mod, label);
    if (targets.length !== mod) throw new Error(`${label}: numgen vmap with ${targets.length} targets for mod ${mod}`);
    this.beginElements(NFT_MSG.NEWSETELEM, NLM_F.CREATE, name, id, targets.length, this.full ? `elements of ${label}` : '');
    for (let i = 0; i < targets.length; i++) {
      b.beginAttrs();
      b.attrBytes(SET_ELEM_ATTR.key, u32leCached(i));
      this.elemVerdict(targets[i]!);
      b.endAttrs();
    }
    b.endOp();
    return id;
  }

  private anonIntervalSet(field: 'saddr' | 'daddr', values: readonly string[], label: string): number {
    const b = this.b;
    const name = '__set%d';
    const { elements, size } = intervalElements(values, this.family);
    const flags = NFT_SET_F.anonymous | NFT_SET_F.constant | NFT_SET_F.interval;
    const id = this.newSet(name, flags, this.addrType(), addrLen(this.family), undefined, anonAddrSetUserdata(this.family, field, true), undefined, size, label);
    this.beginElements(NFT_MSG.NEWSETELEM, NLM_F.CREATE, name, id, elements.length, this.full ? `elements of ${label}` : '');
    for (const e of elements) {
      b.beginAttrs();
      if (e.end) b.attrU32(SET_ELEM_ATTR.flags, NFT_SET_ELEM_INTERVAL_END);
      b.attrBytes(SET_ELEM_ATTR.key, e.key);
      if (e.open) b.attrBytes(SET_ELEM_ATTR.userdata, ELEM_OPEN_INTERVAL_USERDATA);
      b.endAttrs();
    }
    b.endOp();
    return id;
  }

  private anonAddrSet(field: 'saddr' | 'daddr', values: readonly string[], label: string): number {
    const b = this.b;
    const name = '__set%d';
    const distinct = [...new Set(values)];
    const flags = NFT_SET_F.anonymous | NFT_SET_F.constant;
    const id = this.newSet(name, flags, this.addrType(), addrLen(this.family), undefined, anonAddrSetUserdata(this.family, field, false), undefined, distinct.length, label);
    this.beginElements(NFT_MSG.NEWSETELEM, NLM_F.CREATE, name, id, distinct.length, this.full ? `elements of ${label}` : '');
    for (const v of distinct) {
      b.beginAttrs();
      b.attrBytes(SET_ELEM_ATTR.key, this.addr(v));
      b.endAttrs();
    }
    b.endOp();
    return id;
  }

  private addrType(): number {
    return DATATYPE[this.family === 'ip' ? 'ipv4_addr' : 'ipv6_addr'];
  }

  // ---- expressions -------------------------------------------------------------------------------

  private payload(dreg: number, base: number, offset: number, len: number): void {
    const key = ((dreg * 256 + base) * 256 + offset) * 256 + len;
    this.b.raw(PAYLOADS.get(key) ?? remember(PAYLOADS, key, (b) => writePayload(b, dreg, base, offset, len)));
  }

  /** Loads an address field of the network header into register 1. */
  private addrPayload(field: 'saddr' | 'daddr'): void {
    this.payload(REG1, NETWORK, IP_HEADER_OFFSET[this.family][field], addrLen(this.family));
  }

  private cmp(op: number, data: Uint8Array): void {
    this.b.raw(CMP_HEADS.get(op) ?? remember(CMP_HEADS, op, (b) => writeCmp(b, op, EMPTY), EMPTY_BYTES_TAIL));
    this.b.bytes(data);
  }

  private meta(key: number, dreg: number): void {
    this.b.raw(METAS.get(key * 256 + dreg) ?? remember(METAS, key * 256 + dreg, (b) => writeMeta(b, key, dreg)));
  }

  private bitwise(len: number, mask: Uint8Array, xor: Uint8Array): void {
    writeBitwise(this.b, len, mask, xor);
  }

  private immediateData(dreg: number, data: Uint8Array): void {
    this.b.raw(IMMEDIATE_HEADS.get(dreg) ?? remember(IMMEDIATE_HEADS, dreg, (b) => writeImmediateData(b, dreg, EMPTY), EMPTY_BYTES_TAIL));
    this.b.bytes(data);
  }

  private verdict(v: Verdict): void {
    const code = verdictCode(v);
    if (v.kind === 'jump' || v.kind === 'goto') {
      this.b.raw(VERDICT_HEADS.get(code) ?? remember(VERDICT_HEADS, code, (b) => writeVerdict(b, code, ''), EMPTY_STR_TAIL));
      this.b.str(v.chain);
    } else {
      this.b.raw(VERDICTS.get(code) ?? remember(VERDICTS, code, (b) => writeVerdict(b, code, undefined)));
    }
  }

  private lookup(set: string, id: number | undefined, dreg: number | undefined, inverted: boolean): void {
    const b = this.b;
    b.beginExpr('lookup');
    b.attrU32(LK.sreg.id, REG1);
    if (dreg !== undefined) b.attrU32(LK.dreg.id, dreg);
    b.attrStr(LK.set.id, set);
    if (id !== undefined) b.attrU32(LK.set_id.id, id);
    if (inverted) b.attrU32(LK.flags.id, NFT_LOOKUP_F_INV);
    b.endAttrs();
  }

  /** `numgen random mod N` into `dreg` (register 1 unless it ends a concatenated key). */
  private numgen(mod: number, dreg: number = REG1): void {
    if (dreg === REG1) this.b.raw(NUMGENS.get(mod) ?? remember(NUMGENS, mod, (b) => writeNumgen(b, mod, REG1)));
    else writeNumgen(this.b, mod, dreg);
  }

  private addrMatch(field: 'saddr' | 'daddr', op: '==' | '!=', value: string): void {
    const off = IP_HEADER_OFFSET[this.family][field];
    const full = addrLen(this.family);
    const cmpOp = op === '!=' ? NFT_CMP_OP.neq : NFT_CMP_OP.eq;
    if (value.indexOf('/') < 0) {
      this.payload(REG1, NETWORK, off, full);
      this.cmp(cmpOp, this.addr(value));
      return;
    }
    // A CIDR: nft shortens the load to a prefix of whole bytes, else masks the address.
    const m = prefixMatch(value, this.family);
    this.payload(REG1, NETWORK, off, m.len);
    if (m.mask) this.bitwise(full, m.mask, full === 4 ? ZERO4 : ZERO16);
    this.cmp(cmpOp, m.data);
  }

  private protoByte(protocol: string): Uint8Array {
    const proto = PROTO_BYTE[protocol];
    if (!proto) throw new Error(`unknown protocol ${protocol}`);
    return proto;
  }

  /** One statement's expressions (`anonId`: the id of the anonymous set written before the rule). */
  private statement(s: Statement, anonId: number | undefined): void {
    switch (s.kind) {
      case 'match-addr':
        return this.addrMatch(s.field, s.op, s.value);
      case 'match-addr-anon':
        if (s.values.length === 1) return this.addrMatch(s.field, s.op, s.values[0]!);
        this.addrPayload(s.field);
        return this.lookup('__set%d', anonId, undefined, s.op === '!=');
      case 'match-addr-in':
        this.addrPayload(s.field);
        return this.lookup(s.set, this.setIds.get(s.set), undefined, false);
      case 'match-dport': {
        const proto = this.protoByte(s.protocol);
        if (!Number.isInteger(s.port) || s.port < 0 || s.port > 65535) throw new Error(`bad port ${s.port}`);
        this.meta(NFT_META_KEY.l4proto, REG1);
        this.cmp(NFT_CMP_OP.eq, proto);
        this.payload(REG1, TRANSPORT, TH_DPORT_OFFSET, 2);
        return this.cmp(NFT_CMP_OP.eq, portBytes(s.port));
      }
      case 'match-l4proto':
        this.meta(NFT_META_KEY.l4proto, REG1);
        return this.cmp(NFT_CMP_OP.eq, this.protoByte(s.protocol));
      case 'match-numgen':
        this.numgen(s.mod);
        return this.cmp(NFT_CMP_OP.eq, u32leCached(s.value));
      case 'vmap':
        this.concatKey(s.key);
        return this.lookup(s.map, this.setIds.get(s.map), NFT_REG.verdict, false);
      case 'match-key-in':
        this.concatKey(s.key);
        return this.lookup(s.set, this.setIds.get(s.set), undefined, false);
      case 'dnat-map':
        return this.dnatMap(s.key, s.mod, s.map);
      case 'numgen-vmap':
        this.numgen(s.mod);
        return this.lookup('__map%d', anonId, NFT_REG.verdict, false);
      case 'verdict':
        return this.verdict(s.verdict);
      default:
        return this.fixedStatement(s);
    }
  }

  /** Statements whose expressions depend on no set. */
  private fixedStatement(s: Statement): void {
    const b = this.b;
    switch (s.kind) {
      case 'match-fib-local':
        b.beginExpr('fib');
        b.attrU32(FIB_DREG, REG1);
        b.attrU32(FIB_RESULT, NFT_FIB_RESULT.addrtype);
        b.attrU32(FIB_FLAGS, s.field === 'saddr' ? NFT_FIB_F.saddr : NFT_FIB_F.daddr);
        b.endAttrs();
        return this.cmp(NFT_CMP_OP.eq, RTN_LOCAL_DATA);
      case 'match-ct-new':
        b.beginExpr('ct');
        b.attrU32(CT_DREG, REG1);
        b.attrU32(CT_KEY, NFT_CT_KEY.state);
        b.endAttrs();
        this.bitwise(4, CT_NEW_MASK, ZERO4);
        return this.cmp(NFT_CMP_OP.neq, ZERO4);
      case 'match-mark-clear':
        this.meta(NFT_META_KEY.mark, REG1);
        this.bitwise(4, u32leCached(s.mark), ZERO4);
        return this.cmp(NFT_CMP_OP.eq, ZERO4);
      case 'mark-or':
      case 'mark-xor':
        this.meta(NFT_META_KEY.mark, REG1);
        if (s.kind === 'mark-or') this.bitwise(4, u32leCached(~s.mark >>> 0), u32leCached(s.mark));
        else this.bitwise(4, ONES4, u32leCached(s.mark));
        b.beginExpr('meta');
        b.attrU32(META_KEY, NFT_META_KEY.mark);
        b.attrU32(META_SREG, REG1);
        return b.endAttrs();
      case 'set-update':
        return this.setUpdate(s.field, s.set);
      case 'dnat':
        return this.dnat(s.addr, s.port);
      case 'masquerade':
        b.beginExpr('masq');
        if (s.fullyRandom) b.attrU32(MASQ_FLAGS, NF_NAT_RANGE.proto_random_fully);
        return b.endAttrs();
      case 'reject':
        b.beginExpr('reject');
        b.attrU32(REJ_TYPE, NFT_REJECT.icmp_unreach);
        b.attrU8(REJ_CODE, this.family === 'ip' ? ICMP_PORT_UNREACH : ICMPV6_PORT_UNREACH);
        return b.endAttrs();
      default:
        throw new Error(`statement ${s.kind} is not a fixed statement`);
    }
  }

  private setUpdate(field: 'saddr' | 'daddr', set: string): void {
    const b = this.b;
    this.addrPayload(field);
    b.beginExpr('dynset');
    b.attrU32(DS.sreg_key.id, REG1);
    b.attrU32(DS.op.id, NFT_DYNSET_OP.update);
    b.attrStr(DS.set_name.id, set);
    const id = this.setIds.get(set);
    if (id !== undefined) b.attrU32(DS.set_id.id, id);
    b.endAttrs();
  }

  /**
   * Loads a concatenated lookup key into the registers nft allocates for it (from register 1,
   * each field in whole 32-bit words); returns the number of words.
   */
  private concatKey(key: readonly KeyField[]): number {
    let word = 0;
    for (const k of key) {
      const reg = concatReg(word);
      if (k === 'daddr' || k === 'saddr') {
        const len = addrLen(this.family);
        this.payload(reg, NETWORK, IP_HEADER_OFFSET[this.family][k], len);
        word += len / 4;
      } else if (k === 'l4proto') {
        this.meta(NFT_META_KEY.l4proto, reg);
        word += 1;
      } else {
        this.payload(reg, TRANSPORT, TH_DPORT_OFFSET, 2);
        word += 1;
      }
    }
    return word;
  }

  /** `dnat ip to <key> . numgen random mod N map @m`: the key, the index after it, the map's value into register 1, nat. */
  private dnatMap(key: readonly KeyField[], mod: number, map: string): void {
    const words = this.concatKey(key);
    this.numgen(mod, concatReg(words));
    this.lookup(map, this.setIds.get(map), REG1, false);
    const nfproto = NFPROTO[this.family];
    this.b.raw(DNATS_FROM_MAP.get(nfproto) ?? remember(DNATS_FROM_MAP, nfproto, (b) => writeDnatFromMap(b, nfproto, concatReg(addrLen(this.family) / 4))));
  }

  private dnat(addr: string, port: number): void {
    const b = this.b;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`bad port ${port}`);
    this.immediateData(REG1, this.addr(addr));
    this.immediateData(REG2, portBytes(port));
    const nfproto = NFPROTO[this.family];
    b.raw(DNATS.get(nfproto) ?? remember(DNATS, nfproto, (t) => writeDnat(t, nfproto)));
  }
}

/** Bytes of the op stream per service port and per endpoint (flat layout, measured at 10k × 3, with room). */
const STREAM_BYTES_PER_SERVICE_PORT = 1200;
const STREAM_BYTES_PER_ENDPOINT = 900;

/** How large a full encode's op stream is, and how much of it is sent before the rules (to size its builders). */
export interface StreamSizes {
  readonly total: number;
  readonly beforeRules: number;
}

/** A generous estimate of the op stream of a table of `servicePorts` service ports with `endpoints` endpoints. */
export function estimateStreamSizes(servicePorts: number, endpoints: number): StreamSizes {
  const total = 64 * 1024 + servicePorts * STREAM_BYTES_PER_SERVICE_PORT + endpoints * STREAM_BYTES_PER_ENDPOINT;
  return { total, beforeRules: Math.ceil(total * BEFORE_RULES_SHARE) };
}

/**
 * The op stream that replaces kpb's table with `stream`'s, op for op what `replace` writes for
 * the whole ruleset, but one service port at a time (`writeStreamReplace`): the parts are
 * written into builders of their own and put together in the order they are sent. The rules,
 * ~85% of the stream, are written in their final place: into `out`, behind room for the parts
 * sent before them, so that only the smaller parts are copied. Sets are numbered as in the whole
 * batch: named sets in part order, anonymous ones after all of them.
 */
export function encodeStream(stream: RulesetStream, table: string, expected: StreamSizes, hooks?: EncodeHooks): { readonly buf: Buffer; readonly sizes: StreamSizes } {
  const out = new BatchBuilder(expected.total - expected.beforeRules, expected.beforeRules);
  const parts = new Map<StreamPart, BatchBuilder>(STREAM_PARTS.map((p) => [p, p === 'rules' ? out : new BatchBuilder(Math.ceil(expected.total * (PART_SHARE[p] ?? 0)))]));
  const enc = new NftnlEncoder(stream.family, table, { labels: false, builder: parts.get('head')!, ...(hooks ? { hooks } : {}) });
  const named = stream.leadingSetCount + stream.servicePortSetCount;
  // The fixed chains' anonymous sets (cluster-ips-check's service CIDRs) come first in the whole
  // batch, but their rules are written after the service ports' here.
  const maps = stream.mapCount + stream.dataMapCount;
  const firstAnon = named + maps + 1;
  enc.numberSets(stream.leadingSetCount + 1, firstAnon + fixedAnonymousSets(stream));
  let current: StreamPart = 'head';
  writeStreamReplace(stream, (part) => {
    if (part === current) return enc;
    current = part;
    enc.writeTo(parts.get(part)!);
    if (part === 'leadingSets') enc.numberSets(1);
    else if (part === 'maps') enc.numberSets(named + 1);
    else if (part === 'fixedRules') enc.numberSets(named + maps + 1, firstAnon);
    return enc;
  });
  const rules = STREAM_PARTS.indexOf('rules');
  const before = STREAM_PARTS.slice(0, rules).map((p) => parts.get(p)!);
  let beforeRules = 0;
  for (const b of before) beforeRules += b.byteLength;
  out.prependOps(before);
  for (const p of STREAM_PARTS.slice(rules + 1)) out.appendOps(parts.get(p)!);
  const buf = out.finish();
  return { buf, sizes: { total: buf.length, beforeRules } };
}

/** The number of anonymous sets the rules of the stream's fixed chains need. */
function fixedAnonymousSets(stream: RulesetStream): number {
  let n = 0;
  for (const c of stream.fixedChains) for (const r of c.rules) for (const st of r.statements) if (hasAnonSet(st)) n++;
  return n;
}

/** The share of the stream's bytes a part takes (to size its buffer; the rest start small). Measured at 10k × 3: head 12% flat, 7% maps. */
const PART_SHARE: Partial<Record<StreamPart, number>> = { head: 0.15, sets: 0.02, mapElements: 0.05 };
/** Room for the parts before the rules (11% flat, 11% maps of the stream at 10k × 3); less room only costs a copy. */
const BEFORE_RULES_SHARE = 0.2;
