// BatchBuilder: encodes nftables operations into the compact op stream the addon decodes
// (format in native/README.md). One Buffer crosses into C++; nothing per expression does.
import {
  EXPR, KIND_CODE, NFPROTO, NFT_MSG, NLM_F, NFT_VERDICT, NF_VERDICT, HOOK, TABLE_ATTR, CHAIN_ATTR, RULE_ATTR,
  SET_ATTR, SET_ELEM_ATTR, NFT_DATA_VERDICT,
} from './constants.ts';
import type { AttrKind, Family } from './constants.ts';

export const STREAM_MAGIC = 'KPBN';
const STREAM_VERSION = 1;
const HEADER_BYTES = 12;
/** Strings up to this length are written char by char (cheaper than a native write call for short ones). */
const SHORT_STR = 24;
/** Buffer's own UTF-8 writer (what `write(s, at, 'utf8')` calls after its argument checks; not in @types/node). */
type FastWrite = Buffer & { utf8Write(s: string, offset: number): number };

/** A value of an attribute: numbers (u8..u64, s32), bigint (u64), strings, raw bytes. */
export type AttrValue = number | bigint | string | Uint8Array;

/**
 * One libnftnl expression. `attrs` uses the names of `EXPR[name]` (e.g. `{ dreg: 1, base: 1 }`);
 * `raw` adds attributes by id and kind for expressions or attributes not in the schema.
 * Byte attributes (cmp data, immediate data, bitwise mask/xor) are in network order as the
 * kernel compares them; numeric attributes are host integers (libnftnl converts them).
 */
export interface Expr {
  readonly name: string;
  readonly attrs?: { readonly [attr: string]: AttrValue | Expr };
  readonly raw?: ReadonlyArray<readonly [id: number, kind: AttrKind, value: AttrValue | Expr]>;
}

export type VerdictKind = 'accept' | 'drop' | 'continue' | 'break' | 'return' | 'jump' | 'goto';
export interface Verdict {
  readonly kind: VerdictKind;
  /** Target chain for jump / goto. */
  readonly chain?: string;
}

function verdictCode(kind: VerdictKind): number {
  return kind === 'accept' || kind === 'drop' ? NF_VERDICT[kind] : NFT_VERDICT[kind];
}

/** `immediate` expression that sets the verdict register. */
export function verdictExpr(v: Verdict): Expr {
  return v.chain !== undefined
    ? { name: 'immediate', attrs: { dreg: 0, verdict: verdictCode(v.kind), chain: v.chain } }
    : { name: 'immediate', attrs: { dreg: 0, verdict: verdictCode(v.kind) } };
}

export interface TableSpec {
  readonly family: Family;
  readonly name: string;
  readonly flags?: number;
  readonly userdata?: Uint8Array;
}
export interface ChainRef {
  readonly family: Family;
  readonly table: string;
  readonly name: string;
}
export interface ChainSpec extends ChainRef {
  /** Base chains: hook + priority + type (+ policy). */
  readonly hook?: keyof typeof HOOK;
  readonly priority?: number;
  readonly type?: 'filter' | 'nat' | 'route';
  readonly policy?: 'accept' | 'drop';
  readonly userdata?: Uint8Array;
}
export interface SetRef {
  readonly family: Family;
  readonly table: string;
  /** Set name; anonymous sets use a template such as `__map%d` and an `id`. */
  readonly name: string;
  /** NFTNL_SET_ID: lets rules/elements of the same batch refer to a set (anonymous sets).
   *  addSet allocates one when absent (the kernel requires it on NEWSET). */
  readonly id?: number;
}
export interface SetSpec extends SetRef {
  /** NFT_SET_F_* bits (anonymous, constant, interval, map, timeout, concat, …). */
  readonly flags?: number;
  /** nft datatype id (concatenations: ids combined by nft's 6-bit shifting) and key length. */
  readonly keyType: number;
  readonly keyLen: number;
  /** Maps: data type (NFT_DATA_VERDICT for verdict maps) and length (0 for verdicts). */
  readonly dataType?: number;
  readonly dataLen?: number;
  /** Default element timeout in ms. */
  readonly timeout?: number;
  readonly gcInterval?: number;
  readonly policy?: number;
  /** NFTA_SET_DESC_SIZE. */
  readonly size?: number;
  /** Concatenation field lengths in bytes (NFTNL_SET_DESC_CONCAT), e.g. [4, 1, 2]. */
  readonly concat?: readonly number[];
  readonly userdata?: Uint8Array;
}
export interface SetElem {
  /** Key bytes (concatenations: each field padded to 4 bytes). */
  readonly key: Uint8Array;
  readonly keyEnd?: Uint8Array;
  readonly verdict?: Verdict;
  readonly data?: Uint8Array;
  /** ms */
  readonly timeout?: number;
  readonly flags?: number;
  readonly userdata?: Uint8Array;
}
export interface RuleSpec {
  readonly family: Family;
  readonly table: string;
  readonly chain: string;
  readonly exprs: readonly Expr[];
  /** Insert at the start of the chain (or before `position`) instead of appending. */
  readonly insert?: boolean;
  /** Handle of the rule to add after (append) or before (insert). */
  readonly position?: number;
  /** Replace the rule with this handle. */
  readonly handle?: number;
  readonly userdata?: Uint8Array;
}
export interface RuleRef {
  readonly family: Family;
  readonly table: string;
  readonly chain: string;
  readonly handle: number;
}
export interface DeleteOptions {
  /** Use NFT_MSG_DESTROY* (kernel >= 6.3): no error when the object does not exist. */
  readonly destroy?: boolean;
}

function badAttr(where: string, expr: string, key: string, kind: AttrKind, v: unknown): never {
  throw new TypeError(`${where}: ${expr}.${key} must be ${kind}, got ${typeof v}`);
}

const EXPR_SCHEMA = EXPR as unknown as Record<string, Record<string, { id: number; kind: AttrKind }>>;

/**
 * Encoder of the op stream. Methods append ops; `finish()` returns the stream. The low-level
 * methods (`beginOp`, `beginAttrs`, `attrU32`, …, `beginExpr`) are public for hot paths that
 * want to avoid building `Expr` objects.
 */
export class BatchBuilder {
  private buf: Buffer;
  /** Where the stream (its header) starts in `buf`: 0 unless room was left for `prependOps`. */
  private start: number;
  private pos: number;
  private ops = 0;
  private opStart = -1;
  private attrCountPos = -1;
  private attrCount = 0;
  private attrStack: Array<[number, number]> = [];
  private nextSetId = 1;
  private usedSetIds = new Set<number>();

  /**
   * `room`: bytes left free in front of the stream, where `prependOps` puts ops written apart
   * without moving these (a large part written first in its final place).
   */
  constructor(initialSize = 64 * 1024, room = 0) {
    this.buf = Buffer.allocUnsafe(room + Math.max(initialSize, 64));
    this.start = room;
    this.pos = room + HEADER_BYTES;
  }

  get opCount(): number {
    return this.ops;
  }
  get byteLength(): number {
    return this.pos - this.start;
  }

  // ---- high-level ops -------------------------------------------------------------------

  addTable(t: TableSpec, label = `table ${t.name}`): this {
    this.beginOp(NFT_MSG.NEWTABLE, t.family, NLM_F.CREATE, label);
    this.beginAttrs();
    this.attrStr(TABLE_ATTR.name, t.name);
    if (t.flags !== undefined) this.attrU32(TABLE_ATTR.flags, t.flags);
    if (t.userdata) this.attrBytes(TABLE_ATTR.userdata, t.userdata);
    this.endAttrs();
    return this.endOp();
  }

  deleteTable(t: { family: Family; name: string }, label = `delete table ${t.name}`, o: DeleteOptions = {}): this {
    this.beginOp(o.destroy ? NFT_MSG.DESTROYTABLE : NFT_MSG.DELTABLE, t.family, 0, label);
    this.beginAttrs();
    this.attrStr(TABLE_ATTR.name, t.name);
    this.endAttrs();
    return this.endOp();
  }

  /** Deletes every rule of every chain in the table (DELRULE with the table only). */
  flushTable(t: { family: Family; name: string }, label = `flush table ${t.name}`): this {
    this.beginOp(NFT_MSG.DELRULE, t.family, 0, label);
    this.beginAttrs();
    this.attrStr(RULE_ATTR.table, t.name);
    this.endAttrs();
    this.u16(0);
    return this.endOp();
  }

  addChain(c: ChainSpec, label = `chain ${c.name}`): this {
    this.beginOp(NFT_MSG.NEWCHAIN, c.family, NLM_F.CREATE, label);
    this.beginAttrs();
    this.attrStr(CHAIN_ATTR.table, c.table);
    this.attrStr(CHAIN_ATTR.name, c.name);
    if (c.hook !== undefined) {
      this.attrU32(CHAIN_ATTR.hooknum, HOOK[c.hook]);
      this.attrU32(CHAIN_ATTR.prio, c.priority ?? 0);
      this.attrStr(CHAIN_ATTR.type, c.type ?? 'filter');
    }
    if (c.policy !== undefined) this.attrU32(CHAIN_ATTR.policy, NF_VERDICT[c.policy]);
    if (c.userdata) this.attrBytes(CHAIN_ATTR.userdata, c.userdata);
    this.endAttrs();
    return this.endOp();
  }

  deleteChain(c: ChainRef, label = `delete chain ${c.name}`, o: DeleteOptions = {}): this {
    this.beginOp(o.destroy ? NFT_MSG.DESTROYCHAIN : NFT_MSG.DELCHAIN, c.family, 0, label);
    this.beginAttrs();
    this.attrStr(CHAIN_ATTR.table, c.table);
    this.attrStr(CHAIN_ATTR.name, c.name);
    this.endAttrs();
    return this.endOp();
  }

  /** Deletes every rule of the chain. */
  flushChain(c: ChainRef, label = `flush chain ${c.name}`): this {
    this.beginOp(NFT_MSG.DELRULE, c.family, 0, label);
    this.beginAttrs();
    this.attrStr(RULE_ATTR.table, c.table);
    this.attrStr(RULE_ATTR.chain, c.name);
    this.endAttrs();
    this.u16(0);
    return this.endOp();
  }

  /** A set id not used yet in this batch (the kernel requires NFTA_SET_ID on NEWSET). */
  allocSetId(): number {
    while (this.usedSetIds.has(this.nextSetId)) this.nextSetId++;
    this.usedSetIds.add(this.nextSetId);
    return this.nextSetId++;
  }

  addSet(s: SetSpec, label = `set ${s.name}`): this {
    let id = s.id;
    if (id === undefined) id = this.allocSetId();
    else this.usedSetIds.add(id);
    this.beginOp(NFT_MSG.NEWSET, s.family, NLM_F.CREATE, label);
    this.beginAttrs();
    this.attrStr(SET_ATTR.table, s.table);
    this.attrStr(SET_ATTR.name, s.name);
    this.attrU32(SET_ATTR.flags, s.flags ?? 0);
    this.attrU32(SET_ATTR.key_type, s.keyType);
    this.attrU32(SET_ATTR.key_len, s.keyLen);
    if (s.dataType !== undefined) {
      this.attrU32(SET_ATTR.data_type, s.dataType);
      this.attrU32(SET_ATTR.data_len, s.dataLen ?? (s.dataType === NFT_DATA_VERDICT ? 0 : 4));
    }
    this.attrU32(SET_ATTR.id, id);
    if (s.policy !== undefined) this.attrU32(SET_ATTR.policy, s.policy);
    if (s.size !== undefined) this.attrU32(SET_ATTR.desc_size, s.size);
    if (s.timeout !== undefined) this.attrU64(SET_ATTR.timeout, s.timeout);
    if (s.gcInterval !== undefined) this.attrU32(SET_ATTR.gc_interval, s.gcInterval);
    if (s.concat?.length) this.attrBytes(SET_ATTR.desc_concat, Uint8Array.from(s.concat));
    if (s.userdata) this.attrBytes(SET_ATTR.userdata, s.userdata);
    this.endAttrs();
    return this.endOp();
  }

  deleteSet(s: SetRef, label = `delete set ${s.name}`, o: DeleteOptions = {}): this {
    this.beginOp(o.destroy ? NFT_MSG.DESTROYSET : NFT_MSG.DELSET, s.family, 0, label);
    this.setRefAttrs(s);
    return this.endOp();
  }

  /** Adds elements; the addon splits them into messages of a few hundred elements. */
  addElements(s: SetRef, elems: readonly SetElem[], label = `elements of set ${s.name}`): this {
    return this.elements(NFT_MSG.NEWSETELEM, NLM_F.CREATE, s, elems, label);
  }

  deleteElements(s: SetRef, elems: readonly SetElem[], label = `delete elements of set ${s.name}`, o: DeleteOptions = {}): this {
    return this.elements(o.destroy ? NFT_MSG.DESTROYSETELEM : NFT_MSG.DELSETELEM, 0, s, elems, label);
  }

  /** Removes every element of the set (DELSETELEM without elements). */
  flushSet(s: SetRef, label = `flush set ${s.name}`): this {
    return this.elements(NFT_MSG.DELSETELEM, 0, s, [], label);
  }

  addRule(r: RuleSpec, label = `rule in chain ${r.chain}`): this {
    let flags: number = NLM_F.CREATE;
    if (r.handle !== undefined) flags |= NLM_F.REPLACE;
    else if (!r.insert) flags |= NLM_F.APPEND;
    this.beginOp(NFT_MSG.NEWRULE, r.family, flags, label);
    this.beginAttrs();
    this.attrStr(RULE_ATTR.table, r.table);
    this.attrStr(RULE_ATTR.chain, r.chain);
    if (r.handle !== undefined) this.attrU64(RULE_ATTR.handle, r.handle);
    if (r.position !== undefined) this.attrU64(RULE_ATTR.position, r.position);
    if (r.userdata) this.attrBytes(RULE_ATTR.userdata, r.userdata);
    this.endAttrs();
    if (r.exprs.length > 0xffff) throw new RangeError(`${label}: too many expressions`);
    this.u16(r.exprs.length);
    for (const e of r.exprs) this.writeExpr(e, label);
    return this.endOp();
  }

  deleteRule(r: RuleRef, label = `delete rule ${r.handle} in chain ${r.chain}`, o: DeleteOptions = {}): this {
    this.beginOp(o.destroy ? NFT_MSG.DESTROYRULE : NFT_MSG.DELRULE, r.family, 0, label);
    this.beginAttrs();
    this.attrStr(RULE_ATTR.table, r.table);
    this.attrStr(RULE_ATTR.chain, r.chain);
    this.attrU64(RULE_ATTR.handle, r.handle);
    this.endAttrs();
    this.u16(0);
    return this.endOp();
  }

  /** The finished stream (a view of the internal buffer; the addon copies it). */
  finish(): Buffer {
    if (this.opStart >= 0) throw new Error('BatchBuilder.finish: an op is still open');
    const at = this.start;
    this.buf.write(STREAM_MAGIC, at, 'latin1');
    this.buf.writeUInt16LE(STREAM_VERSION, at + 4);
    this.buf.writeUInt16LE(0, at + 6);
    this.buf.writeUInt32LE(this.ops, at + 8);
    return this.buf.subarray(at, this.pos);
  }

  /**
   * One stream holding every op of `streams`, in order: finished streams (of several tables,
   * e.g. both families of a dual-stack apply) sent as ONE batch, so one transaction.
   */
  static join(streams: readonly Buffer[]): Buffer {
    let bytes = HEADER_BYTES;
    for (const s of streams) {
      if (s.length < HEADER_BYTES || s.toString('latin1', 0, 4) !== STREAM_MAGIC) throw new TypeError('BatchBuilder.join: not an op stream');
      bytes += s.length - HEADER_BYTES;
    }
    const out = new BatchBuilder(bytes);
    for (const s of streams) {
      s.copy(out.buf, out.pos, HEADER_BYTES);
      out.pos += s.length - HEADER_BYTES;
      out.ops += s.readUInt32LE(8);
    }
    return out.finish();
  }

  /** Appends every op of `other`, a part of the batch written apart (in another order than it is sent). */
  appendOps(other: BatchBuilder): void {
    if (this.opStart >= 0 || other.opStart >= 0) throw new Error('BatchBuilder.appendOps: an op is still open');
    const n = other.pos - other.start - HEADER_BYTES;
    this.ensure(n);
    other.buf.copy(this.buf, this.pos, other.start + HEADER_BYTES, other.pos);
    this.pos += n;
    this.ops += other.ops;
  }

  /**
   * Puts every op of `parts`, in order, before this builder's ops: into the room left in front
   * of them (see the constructor) when it is large enough, else everything is copied into a new
   * buffer.
   */
  prependOps(parts: readonly BatchBuilder[]): void {
    if (this.opStart >= 0 || parts.some((p) => p.opStart >= 0 || p === this)) throw new Error('BatchBuilder.prependOps: an op is still open, or a part is this builder');
    let n = 0;
    for (const p of parts) n += p.pos - p.start - HEADER_BYTES;
    if (n > this.start) {
      const next = Buffer.allocUnsafe(n + (this.buf.length - this.start));
      this.buf.copy(next, n + HEADER_BYTES, this.start + HEADER_BYTES, this.pos);
      this.pos += n - this.start;
      this.start = n;
      this.buf = next;
    }
    let at = this.start + HEADER_BYTES - n;
    for (const p of parts) {
      at += p.buf.copy(this.buf, at, p.start + HEADER_BYTES, p.pos);
      this.ops += p.ops;
    }
    this.start -= n;
  }

  // ---- low-level encoding ---------------------------------------------------------------

  beginOp(msgType: number, family: Family, nlmsgFlags: number, label: string): void {
    if (this.opStart >= 0) throw new Error('BatchBuilder: previous op not ended');
    const fam = NFPROTO[family];
    if (fam === undefined) throw new TypeError(`${label}: unknown family '${String(family)}'`);
    this.ensure(8);
    this.buf[this.pos] = msgType;
    this.buf[this.pos + 1] = fam;
    this.buf.writeUInt16LE(nlmsgFlags, this.pos + 2);
    this.pos += 8; // u32 op length patched in endOp
    this.opStart = this.pos;
    this.str(label.length > 1024 ? label.slice(0, 1024) : label);
  }

  endOp(): this {
    if (this.opStart < 0) throw new Error('BatchBuilder: no open op');
    this.buf.writeUInt32LE(this.pos - this.opStart, this.opStart - 4);
    this.opStart = -1;
    this.ops++;
    return this;
  }

  beginAttrs(): void {
    if (this.attrCountPos >= 0) this.attrStack.push([this.attrCountPos, this.attrCount]);
    this.ensure(1);
    this.attrCountPos = this.pos++;
    this.attrCount = 0;
  }

  endAttrs(): void {
    if (this.attrCount > 255) throw new RangeError('BatchBuilder: more than 255 attributes');
    this.buf[this.attrCountPos] = this.attrCount;
    const prev = this.attrStack.pop();
    if (prev) [this.attrCountPos, this.attrCount] = prev;
    else this.attrCountPos = -1;
  }

  private attrHead(id: number, code: number): void {
    this.ensure(3);
    this.buf.writeUInt16LE(id, this.pos);
    this.buf[this.pos + 2] = code;
    this.pos += 3;
    this.attrCount++;
  }
  attrU8(id: number, v: number): void {
    this.attrHead(id, KIND_CODE.u8);
    this.u8(v);
  }
  attrU16(id: number, v: number): void {
    this.attrHead(id, KIND_CODE.u16);
    this.u16(v);
  }
  /** u32; negative numbers (verdicts, priorities) are written as two's complement. */
  attrU32(id: number, v: number): void {
    this.attrHead(id, KIND_CODE.u32);
    this.u32(v);
  }
  attrU64(id: number, v: number | bigint): void {
    this.attrHead(id, KIND_CODE.u64);
    this.u64(v);
  }
  attrStr(id: number, v: string): void {
    this.attrHead(id, KIND_CODE.str);
    this.str(v);
  }
  attrBytes(id: number, v: Uint8Array): void {
    this.attrHead(id, KIND_CODE.bytes);
    this.bytes(v);
  }

  /** Starts an expression: name + attribute list. End it with `endAttrs()`. */
  beginExpr(name: string): void {
    this.str(name);
    this.beginAttrs();
  }

  writeExpr(e: Expr, where: string): void {
    this.beginExpr(e.name);
    const schema = EXPR_SCHEMA[e.name];
    if (e.attrs) {
      for (const key in e.attrs) {
        const spec = schema?.[key];
        if (!spec) throw new TypeError(`${where}: expression '${e.name}' has no attribute '${key}' in EXPR (use raw)`);
        this.exprAttr(spec.id, spec.kind, e.attrs[key]!, e.name, key, where);
      }
    }
    if (e.raw) for (const [id, kind, v] of e.raw) this.exprAttr(id, kind, v, e.name, String(id), where);
    this.endAttrs();
  }

  private exprAttr(id: number, kind: AttrKind, v: AttrValue | Expr, expr: string, key: string, where: string): void {
    // (no closures here: this runs once per attribute, and tsx/esbuild wraps closures)
    switch (kind) {
      case 'u8':
        if (typeof v !== 'number') badAttr(where, expr, key, kind, v);
        return this.attrU8(id, v as number);
      case 'u16':
        if (typeof v !== 'number') badAttr(where, expr, key, kind, v);
        return this.attrU16(id, v as number);
      case 'u32':
      case 's32':
        if (typeof v !== 'number') badAttr(where, expr, key, kind, v);
        return this.attrU32(id, v as number);
      case 'u64':
        if (typeof v !== 'number' && typeof v !== 'bigint') badAttr(where, expr, key, kind, v);
        return this.attrU64(id, v as number | bigint);
      case 'str':
        if (typeof v !== 'string') badAttr(where, expr, key, kind, v);
        return this.attrStr(id, v as string);
      case 'bytes':
        if (!(v instanceof Uint8Array)) badAttr(where, expr, key, kind, v);
        return this.attrBytes(id, v as Uint8Array);
      case 'expr':
        if (typeof v !== 'object' || v instanceof Uint8Array || typeof (v as Expr).name !== 'string') badAttr(where, expr, key, kind, v);
        this.attrHead(id, KIND_CODE.expr);
        return this.writeExpr(v as Expr, where);
    }
  }

  private setRefAttrs(s: SetRef): void {
    this.beginAttrs();
    this.attrStr(SET_ATTR.table, s.table);
    this.attrStr(SET_ATTR.name, s.name);
    if (s.id !== undefined) this.attrU32(SET_ATTR.id, s.id);
    this.endAttrs();
  }

  private elements(type: number, flags: number, s: SetRef, elems: readonly SetElem[], label: string): this {
    this.beginOp(type, s.family, flags, label);
    this.setRefAttrs(s);
    this.ensure(4);
    this.buf.writeUInt32LE(elems.length, this.pos);
    this.pos += 4;
    for (const e of elems) {
      this.beginAttrs();
      this.attrBytes(SET_ELEM_ATTR.key, e.key);
      if (e.keyEnd) this.attrBytes(SET_ELEM_ATTR.key_end, e.keyEnd);
      if (e.verdict) {
        this.attrU32(SET_ELEM_ATTR.verdict, verdictCode(e.verdict.kind));
        if (e.verdict.chain !== undefined) this.attrStr(SET_ELEM_ATTR.chain, e.verdict.chain);
      }
      if (e.data) this.attrBytes(SET_ELEM_ATTR.data, e.data);
      if (e.timeout !== undefined) this.attrU64(SET_ELEM_ATTR.timeout, e.timeout);
      if (e.flags !== undefined) this.attrU32(SET_ELEM_ATTR.flags, e.flags);
      if (e.userdata) this.attrBytes(SET_ELEM_ATTR.userdata, e.userdata);
      this.endAttrs();
    }
    return this.endOp();
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, this.start, this.start, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16LE(v & 0xffff, this.pos);
    this.pos += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }
  u64(v: number | bigint): void {
    this.ensure(8);
    if (typeof v === 'bigint') {
      this.buf.writeBigUInt64LE(v, this.pos);
    } else {
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`u64 value out of range: ${v}`);
      this.buf.writeUInt32LE(v % 0x100000000, this.pos);
      this.buf.writeUInt32LE(Math.floor(v / 0x100000000), this.pos + 4);
    }
    this.pos += 8;
  }
  /** u16 length, UTF-8 bytes, NUL. */
  str(s: string): void {
    if (s.length > SHORT_STR || !this.shortAscii(s)) this.longStr(s);
  }

  /** Writes `s` char by char when it is all ASCII without NUL; false (nothing written) otherwise. */
  private shortAscii(s: string): boolean {
    const n = s.length;
    this.ensure(n + 3);
    const b = this.buf;
    let p = this.pos + 2;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f || c === 0) return false;
      b[p++] = c;
    }
    b.writeUInt16LE(n, this.pos);
    b[p] = 0;
    this.pos = p + 1;
    return true;
  }

  /** One bulk UTF-8 write: for long strings (chain names) a char loop costs more, above all on concatenated strings. */
  private longStr(s: string): void {
    if (s.includes('\0')) throw new TypeError(`string contains NUL: ${JSON.stringify(s)}`);
    // Room for the worst case (3 bytes per UTF-16 unit), so that the write is never cut short.
    this.ensure(3 * s.length + 3);
    const len = (this.buf as FastWrite).utf8Write(s, this.pos + 2);
    if (len > 0xfffe) throw new RangeError('string too long');
    this.buf.writeUInt16LE(len, this.pos);
    this.buf[this.pos + 2 + len] = 0;
    this.pos += len + 3;
  }

  /**
   * Appends bytes as they are: an encoding written once (by these methods, into another builder)
   * and copied wherever it recurs. `attrs`: how many attributes of the open list they hold.
   */
  raw(v: Uint8Array, attrs = 0): void {
    const n = v.length;
    this.ensure(n);
    const b = this.buf;
    let p = this.pos;
    if (n <= 64) for (let i = 0; i < n; i++) b[p++] = v[i]!;
    else {
      b.set(v, p);
      p += n;
    }
    this.pos = p;
    this.attrCount += attrs;
  }

  /** The bytes written so far after the stream header (a template for `raw`; no op may be open). */
  written(): Uint8Array {
    if (this.opStart >= 0) throw new Error('BatchBuilder.written: an op is still open');
    return this.buf.subarray(this.start + HEADER_BYTES, this.pos);
  }

  /** u32 length + bytes. */
  bytes(v: Uint8Array): void {
    this.ensure(v.length + 4);
    const b = this.buf;
    const n = v.length;
    b.writeUInt32LE(n, this.pos);
    let p = this.pos + 4;
    if (n <= 64) {
      // TypedArray#set has a high fixed cost for the short keys/data typical here.
      for (let i = 0; i < n; i++) b[p++] = v[i]!;
    } else {
      b.set(v, p);
      p += n;
    }
    this.pos = p;
  }
}
