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
import { canonicalObjects, formatRule } from '@kpb/backend-nft';
import type { CanonObject, KeyType, NftChain, NftFamily, NftMap, NftRule, NftRuleset, NftSet, Statement, Verdict, ChainHook, ElementKey } from '@kpb/backend-nft';
import type { ListedChain, ListedExpr, ListedSet, Listing } from '@kpb/native';
import { cstring, formatAddr, fromHex, intervalsToValues, keyTypesOf, KEY_BYTES, parseTlvs, PROTO_NAME, UDATA_SET } from './bytes.ts';

export const TABLE_COMMENT = 'rules for kube-proxy';

const SET_F_ANON = 0x1, SET_F_INTERVAL = 0x4, SET_F_MAP = 0x8, SET_F_TIMEOUT = 0x10, SET_F_EVAL = 0x20;
const ADDR_FIELD = { ip: { 12: 'saddr', 16: 'daddr' }, ip6: { 8: 'saddr', 24: 'daddr' } } as const;

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
const VERDICT_NUM: Record<number, string> = { 0: 'drop', 1: 'accept', [-3]: 'jump', [-4]: 'goto', [-5]: 'return' };

const num = (e: ListedExpr, k: string): number => {
  const v = e.attrs[k];
  return typeof v === 'number' ? v : fail(`${e.name}.${k} missing`);
};
const hex = (e: ListedExpr, k: string): Uint8Array => {
  const v = e.attrs[k];
  return typeof v === 'string' ? fromHex(v) : fail(`${e.name}.${k} missing`);
};
const u32 = (b: Uint8Array): number => (b.length === 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) : fail('not a u32'));

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

function keyValues(bytes: Uint8Array, types: readonly KeyType[], family: NftFamily): ElementKey {
  const out: (string | number)[] = [];
  let at = 0;
  for (const t of types) {
    const n = KEY_BYTES[t];
    const v = bytes.subarray(at, at + n);
    if (t === 'ipv4_addr' || t === 'ipv6_addr') out.push(formatAddr(v, t === 'ipv4_addr' ? 'ip' : 'ip6'));
    else if (t === 'inet_proto') out.push(PROTO_NAME[v[0]!] ?? fail(`protocol ${v[0]}`));
    else out.push((v[0]! << 8) | v[1]!);
    at += types.length === 1 ? n : (n + 3) & ~3;
  }
  void family;
  return out;
}

/** Decodes one rule's expressions into statements (throws Undecodable). */
function decodeRule(exprs: readonly ListedExpr[], family: NftFamily, sets: ReadonlyMap<string, ListedSet>): Statement[] {
  const out: Statement[] = [];
  const fieldAt = (off: number) => (ADDR_FIELD[family] as Record<number, 'saddr' | 'daddr'>)[off] ?? fail(`address offset ${off}`);
  const full = family === 'ip' ? 4 : 16;
  const at = (i: number) => exprs[i];
  for (let i = 0; i < exprs.length && out.length < 64; ) {
    const e = exprs[i]!;
    const n1 = at(i + 1);
    const n2 = at(i + 2);
    const n3 = at(i + 3);
    switch (e.name) {
      case 'payload': {
        if (num(e, 'base') !== 1) fail('payload base');
        const off = num(e, 'offset');
        const len = num(e, 'len');
        // concatenation: daddr . l4proto . dport vmap
        if (n1?.name === 'meta' && n2?.name === 'payload' && n3?.name === 'lookup' && n3.attrs.dreg === 0) {
          if (fieldAt(off) !== 'daddr' || len !== full) fail('vmap key');
          out.push({ kind: 'vmap', key: ['daddr', 'l4proto', 'dport'], map: String(n3.attrs.set) });
          i += 4;
          continue;
        }
        const field = fieldAt(off);
        if (n1?.name === 'cmp') {
          const data = hex(n1, 'data');
          const op = num(n1, 'op') === 1 ? '!=' : num(n1, 'op') === 0 ? '==' : fail('cmp op');
          const value = len === full ? formatAddr(data, family) : `${formatAddr(padTo(data, full), family)}/${len * 8}`;
          out.push({ kind: 'match-addr', field, op, value });
          i += 2;
          continue;
        }
        if (n1?.name === 'bitwise' && n2?.name === 'cmp') {
          const bits = maskBits(hex(n1, 'mask')) ?? fail('mask');
          const op = num(n2, 'op') === 1 ? '!=' : num(n2, 'op') === 0 ? '==' : fail('cmp op');
          out.push({ kind: 'match-addr', field, op, value: `${formatAddr(hex(n2, 'data'), family)}/${bits}` });
          i += 3;
          continue;
        }
        if (n1?.name === 'lookup' && n1.attrs.dreg === undefined) {
          const setName = String(n1.attrs.set);
          const set = sets.get(setName) ?? fail(`set ${setName}`);
          const inv = (Number(n1.attrs.flags ?? 0) & 1) === 1;
          if (set.flags & SET_F_ANON) {
            const values =
              set.flags & SET_F_INTERVAL
                ? intervalsToValues(set.elements.map((x) => ({ key: fromHex(x.key), end: ((x.flags ?? 0) & 1) === 1 })), family)
                : set.elements.map((x) => formatAddr(fromHex(x.key), family));
            out.push({ kind: 'match-addr-anon', field, op: inv ? '!=' : '==', values });
          } else {
            if (inv) fail('inverted named set lookup');
            out.push({ kind: 'match-addr-in', field, set: setName });
          }
          i += 2;
          continue;
        }
        if (n1?.name === 'dynset' && n1.attrs.op === 1) {
          out.push({ kind: 'set-update', set: String(n1.attrs.set_name), field });
          i += 2;
          continue;
        }
        return fail('payload');
      }
      case 'meta': {
        const key = num(e, 'key');
        if (key === 16) {
          if (n1?.name === 'cmp' && n2?.name === 'payload' && n2.attrs.base === 2 && n3?.name === 'cmp') {
            const protocol = PROTO_NAME[hex(n1, 'data')[0]!] ?? fail('proto');
            const p = hex(n3, 'data');
            out.push({ kind: 'match-dport', protocol, port: (p[0]! << 8) | p[1]! });
            i += 4;
            continue;
          }
          if (n1?.name === 'cmp') {
            out.push({ kind: 'match-l4proto', protocol: PROTO_NAME[hex(n1, 'data')[0]!] ?? fail('proto') });
            i += 2;
            continue;
          }
          if (n1?.name === 'payload' && n2?.name === 'lookup' && n2.attrs.dreg === 0) {
            out.push({ kind: 'vmap', key: ['l4proto', 'dport'], map: String(n2.attrs.set) });
            i += 3;
            continue;
          }
          return fail('meta l4proto');
        }
        if (key === 3 && n1?.name === 'bitwise') {
          const mask = u32(hex(n1, 'mask'));
          const xor = u32(hex(n1, 'xor'));
          if (n2?.name === 'cmp' && xor === 0) {
            out.push({ kind: 'match-mark-clear', mark: mask });
            i += 3;
            continue;
          }
          if (n2?.name === 'meta' && n2.attrs.sreg !== undefined) {
            if (mask === 0xffffffff) out.push({ kind: 'mark-xor', mark: xor });
            else if (((~mask) >>> 0) === xor) out.push({ kind: 'mark-or', mark: xor });
            else fail('mark');
            i += 3;
            continue;
          }
        }
        return fail('meta');
      }
      case 'ct':
        if (num(e, 'key') === 0 && n1?.name === 'bitwise' && u32(hex(n1, 'mask')) === 8 && n2?.name === 'cmp' && num(n2, 'op') === 1) {
          out.push({ kind: 'match-ct-new' });
          i += 3;
          continue;
        }
        return fail('ct');
      case 'fib':
        if (num(e, 'result') === 3 && n1?.name === 'cmp' && u32(hex(n1, 'data')) === 2) {
          const flags = num(e, 'flags');
          out.push({ kind: 'match-fib-local', field: flags === 1 ? 'saddr' : flags === 2 ? 'daddr' : fail('fib flags') });
          i += 2;
          continue;
        }
        return fail('fib');
      case 'numgen': {
        const mod = num(e, 'modulus');
        if (n1?.name === 'cmp') {
          out.push({ kind: 'match-numgen', mod, value: u32(hex(n1, 'data')) });
          i += 2;
          continue;
        }
        if (n1?.name === 'lookup' && n1.attrs.dreg === 0) {
          const set = sets.get(String(n1.attrs.set)) ?? fail('numgen map');
          const targets: Verdict[] = new Array(mod);
          for (const el of set.elements) {
            const k = u32(fromHex(el.key));
            targets[k] = verdictOf(el.verdict?.kind, el.verdict?.chain);
          }
          for (let k = 0; k < mod; k++) if (!targets[k]) fail('numgen map hole');
          out.push({ kind: 'numgen-vmap', mod, targets });
          i += 2;
          continue;
        }
        return fail('numgen');
      }
      case 'immediate': {
        if (e.attrs.dreg === 0) {
          const v = e.attrs.verdict;
          out.push({ kind: 'verdict', verdict: verdictOf(typeof v === 'number' ? VERDICT_NUM[v] : v, e.attrs.chain as string | undefined) });
          i += 1;
          continue;
        }
        if (n1?.name === 'immediate' && n2?.name === 'nat' && num(n2, 'type') === 1) {
          const p = hex(n1, 'data');
          out.push({ kind: 'dnat', addr: formatAddr(hex(e, 'data'), family), port: (p[0]! << 8) | p[1]! });
          i += 3;
          continue;
        }
        return fail('immediate');
      }
      case 'masq':
        out.push({ kind: 'masquerade', fullyRandom: (Number(e.attrs.flags ?? 0) & 0x10) !== 0 });
        i += 1;
        continue;
      case 'reject':
        out.push({ kind: 'reject' });
        i += 1;
        continue;
      default:
        return fail(e.name);
    }
  }
  return out;
}

function padTo(b: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(b.subarray(0, n));
  return out;
}

function udataComment(hexText: string | undefined, type: number): string | undefined {
  if (!hexText) return undefined;
  const v = parseTlvs(fromHex(hexText)).get(type);
  return v ? cstring(v) : undefined;
}

/** Canonical objects of one table's listing (empty when the table does not exist). */
export function listingToCanon(l: Listing): CanonObject[] {
  if (!l.exists || !l.table) return [];
  const family = l.family as NftFamily;
  const setsByName = new Map(l.sets.map((s) => [s.name, s]));
  const chains: NftChain[] = [];
  const ruleTexts = new Map<string, string[]>();
  for (const c of l.chains) {
    chains.push(chainOf(c));
    const texts: string[] = [];
    for (const r of c.rules) {
      try {
        const statements = decodeRule(r.exprs, family, setsByName);
        const comment = udataComment(r.userdata, 0);
        const rule: NftRule = comment !== undefined ? { statements, comment } : { statements };
        texts.push(formatRule(rule, family));
      } catch (e) {
        if (!(e instanceof Undecodable)) throw e;
        texts.push(`# unknown (${e.message}): ${r.text.split('\n').slice(1).map((x) => x.trim()).join(' ')}`);
      }
    }
    ruleTexts.set(c.name, texts);
  }
  const sets: NftSet[] = [];
  const maps: NftMap[] = [];
  for (const s of l.sets) {
    if (s.flags & SET_F_ANON) continue;
    const keyType = keyTypesOf(s.keyType) ?? fail(`key type ${s.keyType}`);
    const comment = udataComment(s.userdata, UDATA_SET.comment);
    if (s.flags & SET_F_MAP) {
      maps.push({
        name: s.name,
        keyType,
        dataType: 'verdict',
        ...(comment !== undefined ? { comment } : {}),
        elements: s.elements.map((e) => ({ key: keyValues(fromHex(e.key), keyType, family), verdict: verdictOf(e.verdict?.kind, e.verdict?.chain) })),
      });
    } else {
      const flags: ('dynamic' | 'timeout')[] = [];
      if (s.flags & SET_F_EVAL) flags.push('dynamic');
      if (s.flags & SET_F_TIMEOUT) flags.push('timeout');
      sets.push({
        name: s.name,
        keyType,
        flags,
        ...(s.timeout !== undefined ? { timeoutSeconds: s.timeout / 1000 } : {}),
        ...(comment !== undefined ? { comment } : {}),
        elements: flags.includes('dynamic') ? [] : s.elements.map((e) => keyValues(fromHex(e.key), keyType, family)),
      });
    }
  }
  const rs: NftRuleset = { family, table: l.table.name as 'kube-proxy', comment: TABLE_COMMENT, chains, sets, maps };
  return canonicalObjects(rs).map((o) => (o.kind === 'chain' ? { ...o, items: ruleTexts.get(o.name) ?? [] } : o));
}

function chainOf(c: ListedChain): NftChain {
  const comment = udataComment(c.userdata, 0);
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
