// Types of listRuleset() and the decoding of raw expression attributes (by EXPR schema).
import { EXPR, HOOK, NF_VERDICT, NFT_VERDICT } from './constants.ts';
import type { AttrKind, Family } from './constants.ts';
import type { VerdictKind } from './batch.ts';

/** What the addon returns for one expression: attribute id → hex of libnftnl's value. */
interface RawExpr {
  name: string;
  raw: Record<string, string>;
  nested?: RawExpr[];
}

type ListedAttr = number | string;
export interface ListedExpr {
  name: string;
  /** Named by EXPR (unknown ids as `attr<id>`): numbers for numeric kinds, strings for str,
   *  hex strings for bytes. */
  attrs: Record<string, ListedAttr>;
  nested?: ListedExpr[];
}
interface ListedRule {
  handle: number;
  position?: number;
  userdata?: string;
  exprs: ListedExpr[];
  /** libnftnl's rendering (nftnl_rule_snprintf, default format). */
  text: string;
}
export interface ListedChain {
  name: string;
  handle: number;
  hook?: keyof typeof HOOK | number;
  prio?: number;
  type?: string;
  policy?: 'accept' | 'drop' | number;
  use: number;
  flags: number;
  userdata?: string;
  rules: ListedRule[];
}
interface ListedElem {
  key: string;
  keyEnd?: string;
  verdict?: { kind: VerdictKind | number; chain?: string };
  data?: string;
  timeout?: number;
  expiration?: number;
  flags?: number;
  userdata?: string;
}
export interface ListedSet {
  name: string;
  handle: number;
  flags: number;
  keyType: number;
  keyLen: number;
  dataType?: number;
  dataLen?: number;
  timeout?: number;
  gcInterval?: number;
  policy?: number;
  size?: number;
  concat?: number[];
  userdata?: string;
  elements: ListedElem[];
}
export interface Listing {
  exists: boolean;
  /** Ruleset generation the listing is consistent with. */
  generation: number;
  family: Family;
  table: { name: string; handle: number; flags: number; use: number } | null;
  chains: ListedChain[];
  sets: ListedSet[];
}

/** Shape returned by the addon before decoding. */
export type RawListing = Omit<Listing, 'chains' | 'sets'> & {
  chains: Array<Omit<ListedChain, 'rules' | 'hook' | 'policy'> & {
    hook?: number;
    policy?: number;
    rules: Array<Omit<ListedRule, 'exprs'> & { exprs: RawExpr[] }>;
  }>;
  sets: Array<Omit<ListedSet, 'elements'> & {
    elements: Array<Omit<ListedElem, 'verdict'> & { verdict?: number; chain?: string }>;
  }>;
};

const BY_ID: Record<string, Map<number, [string, AttrKind]>> = {};
for (const [name, attrs] of Object.entries(EXPR)) {
  const m = new Map<number, [string, AttrKind]>();
  for (const [attr, spec] of Object.entries(attrs as Record<string, { id: number; kind: AttrKind }>)) m.set(spec.id, [attr, spec.kind]);
  BY_ID[name] = m;
}

const HOOK_NAME = new Map<number, keyof typeof HOOK>(Object.entries(HOOK).map(([k, v]) => [v, k as keyof typeof HOOK]));
const VERDICT_NAME = new Map<number, VerdictKind>([
  ...Object.entries(NF_VERDICT).map(([k, v]) => [v, k as VerdictKind] as const),
  ...Object.entries(NFT_VERDICT).map(([k, v]) => [v, k as VerdictKind] as const),
]);

// Hex digits are read by char code: Buffer.from(hex, 'hex') per attribute was most of the
// listing's decoding time (10k services: ~700k attributes).
const nibble = (hex: string, i: number): number => {
  const c = hex.charCodeAt(i);
  return c <= 57 ? c - 48 : c - 87;  // the addon writes lower-case digits
};
const hexByte = (hex: string, byte: number): number => nibble(hex, 2 * byte) * 16 + nibble(hex, 2 * byte + 1);

/** Little-endian unsigned value of bytes [from, to) of `hex`. */
function hexUint(hex: string, from: number, to: number): number {
  let v = 0;
  for (let i = to - 1; i >= from; i--) v = v * 256 + hexByte(hex, i);
  return v;
}

function decodeNumber(hex: string, signed: boolean): number | string {
  switch (hex.length) {
    case 2: case 4: return hexUint(hex, 0, hex.length / 2);
    case 8: return signed ? hexUint(hex, 0, 4) | 0 : hexUint(hex, 0, 4);
    case 16: {
      const hi = hexUint(hex, 4, 8);
      const lo = hexUint(hex, 0, 4);
      // Below 2^53 (Number.MAX_SAFE_INTEGER + 1) the value is exact as a number.
      return hi < 2 ** 21 ? hi * 2 ** 32 + lo : ((BigInt(hi) << 32n) | BigInt(lo)).toString();
    }
    default: return hex;
  }
}

/** The NUL-terminated string in `hex`: ASCII by char codes, anything else through UTF-8. */
function decodeStr(hex: string): string {
  let out = '';
  for (let i = 0; i < hex.length / 2; i++) {
    const b = hexByte(hex, i);
    if (b === 0) return out;
    if (b >= 0x80) {
      const bytes = Buffer.from(hex, 'hex');
      const z = bytes.indexOf(0);
      return bytes.subarray(0, z < 0 ? bytes.length : z).toString('utf8');
    }
    out += String.fromCharCode(b);
  }
  return out;
}

function decodeExpr(e: RawExpr): ListedExpr {
  const ids = BY_ID[e.name];
  const attrs: Record<string, ListedAttr> = {};
  for (const [idStr, hex] of Object.entries(e.raw)) {
    const spec = ids?.get(Number(idStr));
    if (!spec) {
      attrs[`attr${idStr}`] = hex;
      continue;
    }
    const [name, kind] = spec;
    attrs[name] = kind === 'str' ? decodeStr(hex) : kind === 'bytes' || kind === 'expr' ? hex : decodeNumber(hex, kind === 's32');
  }
  const out: ListedExpr = { name: e.name, attrs };
  if (e.nested) out.nested = e.nested.map(decodeExpr);
  return out;
}

export function decodeListing(raw: RawListing): Listing {
  return {
    ...raw,
    chains: raw.chains.map((c) => {
      const { hook, policy, rules, ...rest } = c;
      const out: ListedChain = { ...rest, rules: rules.map((r) => ({ ...r, exprs: r.exprs.map(decodeExpr) })) };
      if (hook !== undefined) out.hook = HOOK_NAME.get(hook) ?? hook;
      if (policy !== undefined) out.policy = policy === 1 ? 'accept' : policy === 0 ? 'drop' : policy;
      return out;
    }),
    sets: raw.sets.map((s) => ({
      ...s,
      elements: s.elements.map((e) => {
        const { verdict, chain, ...rest } = e;
        const out: ListedElem = { ...rest };
        if (verdict !== undefined) {
          out.verdict = chain !== undefined
            ? { kind: VERDICT_NAME.get(verdict) ?? verdict, chain }
            : { kind: VERDICT_NAME.get(verdict) ?? verdict };
        }
        return out;
      }),
    })),
  };
}
