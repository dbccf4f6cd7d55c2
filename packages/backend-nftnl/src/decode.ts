/**
 * The addon's listing (`listRuleset`: libnftnl objects and expressions) → the nft backend's
 * canonical objects, without running `nft`. Expressions are matched back to the statement kinds
 * the encoder writes (the inverse of encode.ts) and printed with the nft backend's own
 * `formatRule`, so the text equals what `nft list table` + `canonicalizeListing` gives. A rule
 * that is not one of kpb's statement sequences prints as `# unknown: …` (a difference for verify).
 *
 * The addon's listing carries no table userdata: the table comment is taken to be the one kpb
 * writes when the table exists (`TABLE_COMMENT`).
 */
import { chainCanon, dataMapCanon, formatRule, mapCanon, normalizeRuleText, setCanon, sortCanon, tableCanon } from '@kpb/backend-nft';
import type { CanonObject, KeyField, KeyType, NftChain, NftDataMap, NftFamily, NftMap, NftMapElement, NftRule, NftSet, Statement, Verdict, ChainHook, ElementKey } from '@kpb/backend-nft';
import {
  IP_HEADER_OFFSET, NF_CT_STATE_NEW_BIT, NF_NAT_RANGE, NF_VERDICT, NFT_CMP_OP, NFT_CT_KEY, NFT_DYNSET_OP,
  NFT_FIB_F, NFT_FIB_RESULT, NFT_LOOKUP_F_INV, NFT_META_KEY, NFT_NAT_TYPE, NFT_PAYLOAD_BASE, NFT_REG,
  NFT_DATA_VERDICT, NFT_NG, NFT_SET_ELEM_INTERVAL_END, NFT_SET_F, NFT_VERDICT, NFTNL_UDATA_COMMENT, NFTNL_UDATA_SET, RTN_LOCAL,
  TH_DPORT_OFFSET,
} from '@kpb/native';
import type { ListedChain, ListedExpr, ListedSet, Listing, ListOptions } from '@kpb/native';
import { ipFromBytes } from '@kpb/model/net';
import { concatReg, cstring, dataMapKeyFields, fromHex, intervalsToValues, keyTypesOf, KEY_BYTES, NFTNL_UDATA_SET_ELEM_COMMENT, parseTlvs, PROTO_NAME } from './bytes.ts';

const TABLE_COMMENT = 'rules for kube-proxy';

/** Address field by its offset in the network header. */
const ADDR_FIELD = {
  ip: { [IP_HEADER_OFFSET.ip.saddr]: 'saddr', [IP_HEADER_OFFSET.ip.daddr]: 'daddr' },
  ip6: { [IP_HEADER_OFFSET.ip6.saddr]: 'saddr', [IP_HEADER_OFFSET.ip6.daddr]: 'daddr' },
} as const;

class Undecodable extends Error {}
const fail = (why: string): never => {
  throw new Undecodable(why);
};

function verdictOf(kind: unknown, chain: string | undefined): Verdict {
  switch (kind) {
    case 'accept':
    case 'drop':
    case 'return':
      return { kind };
    case 'jump':
    case 'goto':
      return { kind, chain: chain ?? fail('verdict without chain') };
    default:
      return fail(`verdict ${String(kind)}`);
  }
}
const VERDICT_NAME: Readonly<Record<number, string>> = {
  [NF_VERDICT.drop]: 'drop',
  [NF_VERDICT.accept]: 'accept',
  [NFT_VERDICT.jump]: 'jump',
  [NFT_VERDICT.goto]: 'goto',
  [NFT_VERDICT.return]: 'return',
};

const num = (e: ListedExpr, k: string): number => {
  const v = e.attrs[k];
  return typeof v === 'number' ? v : fail(`${e.name}.${k} missing`);
};
const hex = (e: ListedExpr, k: string): Uint8Array => {
  const v = e.attrs[k];
  return typeof v === 'string' ? fromHex(v) : fail(`${e.name}.${k} missing`);
};
const u32 = (b: Uint8Array): number => (b.length === 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) : fail('not a u32'));
const cmpOp = (e: ListedExpr): '==' | '!=' => {
  const op = num(e, 'op');
  return op === NFT_CMP_OP.neq ? '!=' : op === NFT_CMP_OP.eq ? '==' : fail('cmp op');
};
const port = (b: Uint8Array): number => (b[0]! << 8) | b[1]!;
const protoOf = (b: Uint8Array): Statement & { kind: 'match-l4proto' } => ({ kind: 'match-l4proto', protocol: PROTO_NAME[b[0]!] ?? fail('proto') });

/** Prefix length of a mask (contiguous ones), else undefined. */
function maskBits(mask: Uint8Array): number | undefined {
  let bits = 0;
  let ended = false;
  for (const byte of mask) {
    for (let i = 7; i >= 0; i--) {
      if (byte & (1 << i)) {
        if (ended) return undefined;
        bits++;
      } else ended = true;
    }
  }
  return bits;
}

function keyValues(bytes: Uint8Array, types: readonly KeyType[]): ElementKey {
  const out: (string | number)[] = [];
  let at = 0;
  for (const t of types) {
    const n = KEY_BYTES[t];
    const v = bytes.subarray(at, at + n);
    if (t === 'ipv4_addr' || t === 'ipv6_addr') out.push(ipFromBytes(v));
    else if (t === 'inet_proto') out.push(PROTO_NAME[v[0]!] ?? fail(`protocol ${v[0]}`));
    else if (t === 'integer') out.push(u32(v));
    else out.push(port(v));
    at += types.length === 1 ? n : (n + 3) & ~3;
  }
  return out;
}

/** The expressions at one position of a rule: the first one and the three after it. */
interface Window {
  readonly e: ListedExpr;
  readonly n1: ListedExpr | undefined;
  readonly n2: ListedExpr | undefined;
  readonly n3: ListedExpr | undefined;
  /** The rule's expressions and the position of `e` (statements longer than four expressions). */
  readonly exprs: readonly ListedExpr[];
  readonly at: number;
  readonly family: NftFamily;
  readonly sets: ReadonlyMap<string, ListedSet>;
}

/** A statement and the number of expressions it was made of. */
type Step = readonly [statement: Statement, used: number];

/** The values of an anonymous address set, as the statement lists them. */
function anonSetValues(set: ListedSet, family: NftFamily): string[] {
  if (!(set.flags & NFT_SET_F.interval)) return set.elements.map((x) => ipFromBytes(fromHex(x.key)));
  const keys = set.elements.map((x) => ({ key: fromHex(x.key), end: ((x.flags ?? 0) & NFT_SET_ELEM_INTERVAL_END) !== 0 }));
  return intervalsToValues(keys, family);
}

/** A load into a register of a concatenated key: the field and the 32-bit words it takes. */
function concatField(e: ListedExpr, family: NftFamily): readonly [KeyField, number] | undefined {
  if (e.name === 'meta') return e.attrs.key === NFT_META_KEY.l4proto ? ['l4proto', 1] : undefined;
  if (e.name !== 'payload') return undefined;
  const { base, offset, len } = e.attrs;
  if (base === NFT_PAYLOAD_BASE.transport) return offset === TH_DPORT_OFFSET && len === 2 ? ['dport', 1] : undefined;
  const full = family === 'ip' ? 4 : 16;
  const field = base === NFT_PAYLOAD_BASE.network && len === full ? (ADDR_FIELD[family] as Record<number, 'saddr' | 'daddr'>)[Number(offset)] : undefined;
  return field ? [field, full / 4] : undefined;
}

/**
 * A concatenated key (loads into the registers nft allocates for it, register 1 on) and what
 * uses it: a verdict-map lookup (`vmap`), a set lookup (`match-key-in`), or numgen, a data-map
 * lookup and nat (`dnat-map`). Undefined when `e` starts no concatenation.
 */
function decodeConcat({ exprs, at, family }: Window): Step | undefined {
  const key: KeyField[] = [];
  let word = 0;
  let i = at;
  for (; i < exprs.length; i++) {
    const f = exprs[i]!.attrs.dreg === concatReg(word) ? concatField(exprs[i]!, family) : undefined;
    if (!f) break;
    key.push(f[0]);
    word += f[1];
  }
  if (key.length < 2) return undefined;
  const used = i - at;
  const next = exprs[i];
  if (next?.name === 'lookup' && next.attrs.sreg === NFT_REG.r1) {
    if (next.attrs.dreg === NFT_REG.verdict) return [{ kind: 'vmap', key, map: String(next.attrs.set) }, used + 1];
    if (next.attrs.dreg === undefined && (Number(next.attrs.flags ?? 0) & NFT_LOOKUP_F_INV) === 0) return [{ kind: 'match-key-in', key, set: String(next.attrs.set) }, used + 1];
  }
  const lookup = exprs[i + 1];
  const nat = exprs[i + 2];
  const randomIndex = next?.name === 'numgen' && next.attrs.dreg === concatReg(word) && next.attrs.type === NFT_NG.random && Number(next.attrs.offset ?? 0) === 0;
  if (!randomIndex || lookup?.name !== 'lookup' || lookup.attrs.dreg !== NFT_REG.r1 || nat?.name !== 'nat' || nat.attrs.type !== NFT_NAT_TYPE.dnat) return fail('concatenated key');
  if (nat.attrs.reg_addr_min !== NFT_REG.r1 || nat.attrs.reg_proto_min !== concatReg(family === 'ip' ? 1 : 4)) return fail('dnat from a map: registers');
  return [{ kind: 'dnat-map', key, mod: num(next, 'modulus'), map: String(lookup.attrs.set) }, used + 3];
}

/** `payload` (network header) first: address matches, set lookups and updates, concatenated keys. */
function decodePayload(w: Window): Step {
  const { e, n1, n2, family, sets } = w;
  const concat = decodeConcat(w);
  if (concat) return concat;
  if (num(e, 'base') !== NFT_PAYLOAD_BASE.network) fail('payload base');
  const off = num(e, 'offset');
  const len = num(e, 'len');
  const full = family === 'ip' ? 4 : 16;
  const field = (ADDR_FIELD[family] as Record<number, 'saddr' | 'daddr'>)[off] ?? fail(`address offset ${off}`);
  if (n1?.name === 'cmp') {
    const data = hex(n1, 'data');
    const value = len === full ? ipFromBytes(data) : `${ipFromBytes(padTo(data, full))}/${len * 8}`;
    return [{ kind: 'match-addr', field, op: cmpOp(n1), value }, 2];
  }
  if (n1?.name === 'bitwise' && n2?.name === 'cmp') {
    const bits = maskBits(hex(n1, 'mask')) ?? fail('mask');
    return [{ kind: 'match-addr', field, op: cmpOp(n2), value: `${ipFromBytes(hex(n2, 'data'))}/${bits}` }, 3];
  }
  if (n1?.name === 'lookup' && n1.attrs.dreg === undefined) {
    const setName = String(n1.attrs.set);
    const set = sets.get(setName) ?? fail(`set ${setName}`);
    const inverted = (Number(n1.attrs.flags ?? 0) & NFT_LOOKUP_F_INV) !== 0;
    if (set.flags & NFT_SET_F.anonymous) return [{ kind: 'match-addr-anon', field, op: inverted ? '!=' : '==', values: anonSetValues(set, family) }, 2];
    if (inverted) fail('inverted named set lookup');
    return [{ kind: 'match-addr-in', field, set: setName }, 2];
  }
  if (n1?.name === 'dynset' && n1.attrs.op === NFT_DYNSET_OP.update) return [{ kind: 'set-update', set: String(n1.attrs.set_name), field }, 2];
  return fail('payload');
}

/** `meta` first: protocol and port matches, concatenated `meta l4proto . th dport` keys, mark matches and updates. */
function decodeMeta(w: Window): Step {
  const { e, n1, n2, n3 } = w;
  const concat = decodeConcat(w);
  if (concat) return concat;
  const key = num(e, 'key');
  if (key === NFT_META_KEY.l4proto) {
    if (n1?.name === 'cmp' && n2?.name === 'payload' && n2.attrs.base === NFT_PAYLOAD_BASE.transport && n3?.name === 'cmp') {
      return [{ kind: 'match-dport', protocol: protoOf(hex(n1, 'data')).protocol, port: port(hex(n3, 'data')) }, 4];
    }
    if (n1?.name === 'cmp') return [protoOf(hex(n1, 'data')), 2];
    return fail('meta l4proto');
  }
  if (key === NFT_META_KEY.mark && n1?.name === 'bitwise') {
    const mask = u32(hex(n1, 'mask'));
    const xor = u32(hex(n1, 'xor'));
    if (n2?.name === 'cmp' && xor === 0) return [{ kind: 'match-mark-clear', mark: mask }, 3];
    if (n2?.name === 'meta' && n2.attrs.sreg !== undefined) {
      if (mask === 0xffffffff) return [{ kind: 'mark-xor', mark: xor }, 3];
      if ((~mask >>> 0) === xor) return [{ kind: 'mark-or', mark: xor }, 3];
      return fail('mark');
    }
  }
  return fail('meta');
}

/** `numgen` first: `numgen random mod N value`, or the numgen vmap (its anonymous map's elements). */
function decodeNumgen({ e, n1, sets }: Window): Step {
  const mod = num(e, 'modulus');
  if (n1?.name === 'cmp') return [{ kind: 'match-numgen', mod, value: u32(hex(n1, 'data')) }, 2];
  if (n1?.name === 'lookup' && n1.attrs.dreg === NFT_REG.verdict) {
    const set = sets.get(String(n1.attrs.set)) ?? fail('numgen map');
    const targets: Verdict[] = new Array(mod);
    for (const el of set.elements) targets[u32(fromHex(el.key))] = verdictOf(el.verdict?.kind, el.verdict?.chain);
    for (let k = 0; k < mod; k++) if (!targets[k]) fail('numgen map hole');
    return [{ kind: 'numgen-vmap', mod, targets }, 2];
  }
  return fail('numgen');
}

/** `immediate` first: a verdict, or the address and port of a dnat. */
function decodeImmediate({ e, n1, n2 }: Window): Step {
  if (e.attrs.dreg === NFT_REG.verdict) {
    const v = e.attrs.verdict;
    return [{ kind: 'verdict', verdict: verdictOf(typeof v === 'number' ? VERDICT_NAME[v] : v, e.attrs.chain as string | undefined) }, 1];
  }
  if (n1?.name === 'immediate' && n2?.name === 'nat' && num(n2, 'type') === NFT_NAT_TYPE.dnat) {
    return [{ kind: 'dnat', addr: ipFromBytes(hex(e, 'data')), port: port(hex(n1, 'data')) }, 3];
  }
  return fail('immediate');
}

function decodeCt({ e, n1, n2 }: Window): Step {
  const isNew = num(e, 'key') === NFT_CT_KEY.state && n1?.name === 'bitwise' && u32(hex(n1, 'mask')) === NF_CT_STATE_NEW_BIT;
  if (isNew && n2?.name === 'cmp' && num(n2, 'op') === NFT_CMP_OP.neq) return [{ kind: 'match-ct-new' }, 3];
  return fail('ct');
}

function decodeFib({ e, n1 }: Window): Step {
  if (num(e, 'result') !== NFT_FIB_RESULT.addrtype || n1?.name !== 'cmp' || u32(hex(n1, 'data')) !== RTN_LOCAL) return fail('fib');
  const flags = num(e, 'flags');
  return [{ kind: 'match-fib-local', field: flags === NFT_FIB_F.saddr ? 'saddr' : flags === NFT_FIB_F.daddr ? 'daddr' : fail('fib flags') }, 2];
}

/** Statement decoders by the name of the statement's first expression. */
const DECODERS = new Map<string, (w: Window) => Step>([
  ['payload', decodePayload],
  ['meta', decodeMeta],
  ['ct', decodeCt],
  ['fib', decodeFib],
  ['numgen', decodeNumgen],
  ['immediate', decodeImmediate],
  ['masq', ({ e }) => [{ kind: 'masquerade', fullyRandom: (Number(e.attrs.flags ?? 0) & NF_NAT_RANGE.proto_random_fully) !== 0 }, 1]],
  ['reject', () => [{ kind: 'reject' }, 1]],
]);

/** Decodes one rule's expressions into statements (throws Undecodable). */
function decodeRule(exprs: readonly ListedExpr[], family: NftFamily, sets: ReadonlyMap<string, ListedSet>): Statement[] {
  const out: Statement[] = [];
  for (let i = 0; i < exprs.length && out.length < 64; ) {
    const e = exprs[i]!;
    const decode = DECODERS.get(e.name) ?? fail(e.name);
    const [statement, used] = decode({ e, n1: exprs[i + 1], n2: exprs[i + 2], n3: exprs[i + 3], exprs, at: i, family, sets });
    out.push(statement);
    i += used;
  }
  return out;
}

function padTo(b: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(b.subarray(0, n));
  return out;
}

export function udataComment(hexText: string | undefined, type: number): string | undefined {
  if (!hexText) return undefined;
  const v = parseTlvs(fromHex(hexText)).get(type);
  return v ? cstring(v) : undefined;
}

/** A listed rule: its statements, or (a rule kpb does not write) the text it is listed as. */
export type DecodedRule = NftRule | { readonly unknown: string };

/** A listed chain: its definition (without rules) and its rules, decoded. */
export interface DecodedChain {
  readonly chain: NftChain;
  readonly rules: readonly DecodedRule[];
}

/** One listed table in the nft backend's model, objects by name. */
export interface DecodedTable {
  readonly family: NftFamily;
  readonly table: string;
  readonly chains: ReadonlyMap<string, DecodedChain>;
  readonly sets: ReadonlyMap<string, NftSet>;
  readonly maps: ReadonlyMap<string, NftMap>;
  /** Data maps (layout maps). */
  readonly dataMaps: ReadonlyMap<string, NftDataMap>;
  /** A rule did not decode and the listing has no rule text to print it by (listed without `ruleText`). */
  readonly lacksText: boolean;
  /**
   * Decoded without elements (`decodeTable(l, { elements: false })`): the named sets and maps
   * have none, and here they are as listed (compared as the kernel's bytes: elements.ts).
   */
  readonly listedSets?: ReadonlyMap<string, ListedSet>;
}

function decodeRules(c: ListedChain, family: NftFamily, sets: ReadonlyMap<string, ListedSet>, lacks: { text: boolean }): DecodedRule[] {
  return c.rules.map((r): DecodedRule => {
    try {
      const statements = decodeRule(r.exprs, family, sets);
      const comment = udataComment(r.userdata, NFTNL_UDATA_COMMENT.rule);
      return comment !== undefined ? { statements, comment } : { statements };
    } catch (e) {
      if (!(e instanceof Undecodable)) throw e;
      if (r.text === undefined) lacks.text = true;
      return { unknown: `# unknown (${e.message}): ${(r.text ?? '').split('\n').slice(1).map((x) => x.trim()).join(' ')}` };
    }
  });
}

/** Is this map a data map (a value, not a verdict)? */
const isDataMap = (s: ListedSet): boolean => (s.flags & NFT_SET_F.map) !== 0 && s.dataType !== undefined && s.dataType >>> 0 !== NFT_DATA_VERDICT;

/** A data map of layout maps: its key fields from the userdata's `typeof`, its elements' endpoints from the `addr . port` values. */
function decodeDataMap(s: ListedSet, keyType: KeyType[], family: NftFamily, comment: string | undefined, withElements: boolean): NftDataMap {
  const key = dataMapKeyFields(s.userdata, family) ?? fail(`map ${s.name}: not a data map kpb writes`);
  const alen = family === 'ip' ? 4 : 16;
  const elements = (withElements ? s.elements : []).map((e) => {
    const data = fromHex(e.data ?? fail(`map ${s.name}: element without data`));
    if (data.length !== alen + 4) fail(`map ${s.name}: data of ${data.length} bytes`);
    return { key: keyValues(fromHex(e.key), keyType), addr: ipFromBytes(data.subarray(0, alen)), port: port(data.subarray(alen)) };
  });
  return { name: s.name, key, keyType, ...(comment !== undefined ? { comment } : {}), elements };
}

/** A named set, verdict map or data map of the listing in the nft backend's model (`withElements` false: without elements). */
export function decodeSet(s: ListedSet, family: NftFamily, withElements = true): { set: NftSet } | { map: NftMap } | { dataMap: NftDataMap } {
  const keyType = keyTypesOf(s.keyType) ?? fail(`key type ${s.keyType}`);
  const comment = udataComment(s.userdata, NFTNL_UDATA_SET.comment);
  if (isDataMap(s)) return { dataMap: decodeDataMap(s, keyType, family, comment, withElements) };
  if (s.flags & NFT_SET_F.map) {
    const elements = (withElements ? s.elements : []).map((e): NftMapElement => {
      const comment = udataComment(e.userdata, NFTNL_UDATA_SET_ELEM_COMMENT);
      return { key: keyValues(fromHex(e.key), keyType), ...(comment !== undefined ? { comment } : {}), verdict: verdictOf(e.verdict?.kind, e.verdict?.chain) };
    });
    return { map: { name: s.name, keyType, dataType: 'verdict', ...(comment !== undefined ? { comment } : {}), elements } };
  }
  const flags: ('dynamic' | 'timeout')[] = [];
  if (s.flags & NFT_SET_F.eval) flags.push('dynamic');
  if (s.flags & NFT_SET_F.timeout) flags.push('timeout');
  return {
    set: {
      name: s.name,
      keyType,
      flags,
      ...(s.timeout !== undefined ? { timeoutSeconds: s.timeout / 1000 } : {}),
      ...(comment !== undefined ? { comment } : {}),
      elements: flags.includes('dynamic') || !withElements ? [] : s.elements.map((e) => keyValues(fromHex(e.key), keyType)),
    },
  };
}

/**
 * One table's listing, decoded (undefined when the table does not exist). `elements: false`:
 * named sets and maps without their elements, which stay as listed (`listedSets`).
 */
export function decodeTable(l: Listing, options: { readonly elements?: boolean } = {}): DecodedTable | undefined {
  const withElements = options.elements ?? true;
  if (!l.exists || !l.table) return undefined;
  const family = l.family as NftFamily;
  const setsByName = new Map(l.sets.map((s) => [s.name, s]));
  const chains = new Map<string, DecodedChain>();
  const lacks = { text: false };
  for (const c of l.chains) chains.set(c.name, { chain: chainOf(c), rules: decodeRules(c, family, setsByName, lacks) });
  const sets = new Map<string, NftSet>();
  const maps = new Map<string, NftMap>();
  const dataMaps = new Map<string, NftDataMap>();
  for (const s of l.sets) {
    if (s.flags & NFT_SET_F.anonymous) continue;
    const d = decodeSet(s, family, withElements);
    if ('map' in d) maps.set(s.name, d.map);
    else if ('dataMap' in d) dataMaps.set(s.name, d.dataMap);
    else sets.set(s.name, d.set);
  }
  const listed = withElements ? {} : { listedSets: new Map(l.sets.filter((s) => !(s.flags & NFT_SET_F.anonymous)).map((s) => [s.name, s])) };
  return { family, table: l.table.name, chains, sets, maps, dataMaps, lacksText: lacks.text, ...listed };
}

/**
 * Lists kpb's table (`list(options)`) and decodes it, reading only what decoding uses: no
 * elements of dynamic sets (the decoded set has none), and no libnftnl rule text (~40 % of the
 * listing), which only a rule that does not decode needs: its `# unknown` line prints it, so
 * then the table is listed again with the text.
 */
export async function listDecoded(list: (options: ListOptions) => Promise<Listing>, decode: { readonly elements?: boolean } = {}): Promise<{ listing: Listing; table: DecodedTable | undefined }> {
  const listing = await list({ ruleText: false, dynamicElements: false });
  const table = decodeTable(listing, decode);
  if (!table?.lacksText) return { listing, table };
  const again = await list({ ruleText: true, dynamicElements: false });
  return { listing: again, table: decodeTable(again, decode) };
}

/** The canonical table object of a listed table. */
export const decodedTableCanon = (t: DecodedTable): CanonObject => tableCanon({ family: t.family, table: t.table, comment: TABLE_COMMENT });

/** The canonical object of a listed chain: rules printed as nft lists them, anonymous sets merged as `chainCanon` does. */
export function decodedChainCanon(c: DecodedChain, family: NftFamily): CanonObject {
  const items = c.rules.map((r) => ('unknown' in r ? r.unknown : normalizeRuleText(formatRule(r, family))));
  return { ...chainCanon(c.chain, family), items };
}

/** Canonical objects of one decoded table (empty when the table does not exist). */
export function tableToCanon(t: DecodedTable | undefined): CanonObject[] {
  if (!t) return [];
  const out = [decodedTableCanon(t)];
  for (const c of t.chains.values()) out.push(decodedChainCanon(c, t.family));
  for (const s of t.sets.values()) out.push(setCanon(s, t.family));
  for (const m of t.maps.values()) out.push(mapCanon(m, t.family));
  for (const m of t.dataMaps.values()) out.push(dataMapCanon(m, t.family));
  return sortCanon(out);
}

function chainOf(c: ListedChain): NftChain {
  const comment = udataComment(c.userdata, NFTNL_UDATA_COMMENT.chain);
  const base =
    c.hook !== undefined && c.type !== undefined
      ? {
          base: {
            type: c.type as 'filter' | 'nat',
            hook: (typeof c.hook === 'number' ? String(c.hook) : c.hook) as ChainHook,
            priority: c.prio ?? 0,
            policy: (typeof c.policy === 'number' ? String(c.policy) : (c.policy ?? 'accept')) as 'accept',
          },
        }
      : {};
  return { name: c.name, ...base, ...(comment !== undefined ? { comment } : {}), rules: [] };
}
