/**
 * What the addon's `listRuleset` would return after the kernel committed a full-replace op
 * stream (the unit tests' stand-in for the kernel's table): objects in the order they were
 * sent, anonymous sets named `__setN` as the kernel names them, lookups bound to them by id.
 * Only the ops a full replace sends are modelled.
 */
import { CHAIN_ATTR, HOOK, NFPROTO, NFT_MSG, RULE_ATTR, SET_ATTR, SET_ELEM_ATTR } from '@kpb/native';
import type { Family, ListedChain, ListedExpr, ListedSet, Listing } from '@kpb/native';
import { namedAttrs, readStream } from './stream.ts';
import type { StreamExpr, StreamOp } from './stream.ts';

type Value = StreamOp['attrs'][number]['value'];
const attr = (op: { attrs: StreamOp['attrs'] }, id: number): Value | undefined => op.attrs.find((a) => a.id === id)?.value;
const str = (v: Value | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const int = (v: Value | undefined): number | undefined => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined);
const hex = (v: Value | undefined): string | undefined => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : undefined);
const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

const HOOK_NAME = new Map(Object.entries(HOOK).map(([k, v]) => [v as number, k as keyof typeof HOOK]));
const FAMILY_NAME = new Map(Object.entries(NFPROTO).map(([k, v]) => [v as number, k as Family]));
/** Verdict codes as the listing names them (NF_ACCEPT 1, NF_DROP 0, NFT_JUMP -3, NFT_GOTO -4, NFT_RETURN -5). */
const VERDICT = new Map<number, string>([[1, 'accept'], [0, 'drop'], [-3, 'jump'], [-4, 'goto'], [-5, 'return']]);

function chainOf(op: StreamOp): ListedChain {
  const hook = int(attr(op, CHAIN_ATTR.hooknum));
  const policy = int(attr(op, CHAIN_ATTR.policy));
  return defined({
    name: str(attr(op, CHAIN_ATTR.name))!,
    handle: 0,
    hook: hook === undefined ? undefined : HOOK_NAME.get(hook),
    prio: int(attr(op, CHAIN_ATTR.prio)) === undefined ? undefined : int(attr(op, CHAIN_ATTR.prio))! | 0,
    type: str(attr(op, CHAIN_ATTR.type)),
    policy: policy === undefined ? undefined : policy === 1 ? ('accept' as const) : ('drop' as const),
    use: 0,
    flags: int(attr(op, CHAIN_ATTR.flags)) ?? 0,
    userdata: hex(attr(op, CHAIN_ATTR.userdata)),
    rules: [],
  });
}

function setOf(op: StreamOp, name: string): ListedSet {
  const concat = attr(op, SET_ATTR.desc_concat);
  return defined({
    name,
    handle: 0,
    flags: int(attr(op, SET_ATTR.flags)) ?? 0,
    keyType: int(attr(op, SET_ATTR.key_type)) ?? 0,
    keyLen: int(attr(op, SET_ATTR.key_len)) ?? 0,
    dataType: int(attr(op, SET_ATTR.data_type)),
    dataLen: int(attr(op, SET_ATTR.data_len)),
    timeout: int(attr(op, SET_ATTR.timeout)),
    size: int(attr(op, SET_ATTR.desc_size)),
    concat: concat instanceof Uint8Array ? [...concat] : undefined,
    userdata: hex(attr(op, SET_ATTR.userdata)),
    elements: [],
  });
}

function elementOf(a: StreamOp['attrs']): ListedSet['elements'][number] {
  const e = { attrs: a };
  const verdict = int(attr(e, SET_ELEM_ATTR.verdict));
  const chain = str(attr(e, SET_ELEM_ATTR.chain));
  const kind = verdict === undefined ? undefined : (VERDICT.get(verdict | 0) as 'accept');
  return defined({
    key: hex(attr(e, SET_ELEM_ATTR.key))!,
    keyEnd: hex(attr(e, SET_ELEM_ATTR.key_end)),
    verdict: kind === undefined ? undefined : chain === undefined ? { kind } : { kind, chain },
    data: hex(attr(e, SET_ELEM_ATTR.data)),
    flags: int(attr(e, SET_ELEM_ATTR.flags)),
    timeout: int(attr(e, SET_ELEM_ATTR.timeout)),
    userdata: hex(attr(e, SET_ELEM_ATTR.userdata)),
  });
}

/** One expression as listed: named attributes, a set sent by id named as the kernel named it. */
function exprOf(e: StreamExpr, setNameById: ReadonlyMap<number, string>): ListedExpr {
  const attrs: Record<string, number | string> = namedAttrs({ name: e.name, attrs: e.attrs.filter((a) => a.kind !== 7) });
  const id = attrs.set_id;
  if (typeof id === 'number' && setNameById.has(id)) attrs[e.name === 'dynset' ? 'set_name' : 'set'] = setNameById.get(id)!;
  const nested = e.attrs.filter((a) => a.kind === 7).map((a) => exprOf(a.value as StreamExpr, setNameById));
  return nested.length ? { name: e.name, attrs, nested } : { name: e.name, attrs };
}

/** The listing of the table after `stream` (a full replace of it) was committed at `generation`. */
export function listingOfStream(stream: Uint8Array, generation: number): Listing {
  let listing: Listing = { exists: false, generation, family: 'ip', table: null, chains: [], sets: [] };
  const setNameById = new Map<number, string>();
  const setNamed = (op: StreamOp) => {
    const id = int(attr(op, SET_ATTR.id));
    const name = (id !== undefined ? setNameById.get(id) : undefined) ?? str(attr(op, SET_ATTR.name));
    return listing.sets.find((s) => s.name === name) ?? fail(`no set ${name}`);
  };
  for (const op of readStream(stream)) {
    const family = FAMILY_NAME.get(op.family) ?? 'ip';
    if (op.type === NFT_MSG.NEWTABLE) {
      if (!listing.exists) listing = { ...listing, exists: true, family, table: { name: str(attr(op, 0))!, handle: 1, flags: 0, use: 0 } };
    } else if (op.type === NFT_MSG.DELTABLE) {
      listing = { ...listing, exists: false, table: null, chains: [], sets: [] };
    } else if (op.type === NFT_MSG.NEWCHAIN) {
      listing.chains.push(chainOf(op));
    } else if (op.type === NFT_MSG.NEWSET) {
      let name = str(attr(op, SET_ATTR.name))!;
      if (name.includes('%d')) name = name.replace('%d', String(setNameById.size));
      setNameById.set(int(attr(op, SET_ATTR.id)) ?? -1, name);
      listing.sets.push(setOf(op, name));
    } else if (op.type === NFT_MSG.NEWSETELEM) {
      setNamed(op).elements.push(...(op.elems ?? []).map(elementOf));
    } else if (op.type === NFT_MSG.NEWRULE) {
      const chain = listing.chains.find((c) => c.name === str(attr(op, RULE_ATTR.chain))) ?? fail('no chain');
      const userdata = hex(attr(op, RULE_ATTR.userdata));
      const exprs = (op.exprs ?? []).map((e) => exprOf(e, setNameById));
      chain.rules.push({ handle: chain.rules.length + 1, ...(userdata ? { userdata } : {}), exprs, text: op.label });
    } else {
      fail(`op type ${op.type} is not part of a full replace`);
    }
  }
  return listing;
}

function fail(why: string): never {
  throw new Error(`fake listing: ${why}`);
}
