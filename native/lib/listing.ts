// Types of listRuleset() and the decoding of raw expression attributes (by EXPR schema).
import { EXPR, HOOK, NF_VERDICT, NFT_VERDICT } from './constants.ts';
import type { AttrKind, Family } from './constants.ts';
import type { VerdictKind } from './batch.ts';

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
  /** libnftnl's rendering (nftnl_rule_snprintf, default format); absent when listed without `ruleText`. */
  text?: string;
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
  /** false: listed without `dynamicElements`, the set's elements were not read (`elements` is empty). */
  elementsListed?: false;
}
export interface Listing {
  exists: boolean;
  /** Ruleset generation the listing is consistent with. */
  generation: number;
  family: Family;
  table: { name: string; handle: number; flags: number; use: number } | null;
  chains: ListedChain[];
  sets: ListedSet[];
  /** Where the addon's time went (all attempts' reads, the last one's JSON); only when asked for. */
  stats?: ListingStats;
}

interface ListingStats {
  /** Netlink requests sent (one per dump) and reply datagrams read. */
  requests: number;
  parts: number;
  /** Listings read (more than one when the generation moved meanwhile). */
  attempts: number;
  /** Set element dumps read again because they repeated elements (a hash resize between parts). */
  elementRedumps: number;
  /** Milliseconds: reading in all; in sendto, recv and poll; in the reply callbacks (libnftnl parsing, reading the objects); writing the JSON. */
  readMs: number;
  sendMs: number;
  recvMs: number;
  waitMs: number;
  parseMs: number;
  jsonMs: number;
}

/** Shape returned by the addon before decoding: hooks, policies and verdicts as numbers. */
export type RawListing = Omit<Listing, 'chains' | 'sets'> & {
  chains: Array<Omit<ListedChain, 'hook' | 'policy'> & { hook?: number | string; policy?: number | string }>;
  sets: Array<Omit<ListedSet, 'elements'> & {
    elements: Array<Omit<ListedElem, 'verdict'> & { verdict?: number | ListedElem['verdict']; chain?: string }>;
  }>;
};

/**
 * The attribute schema the addon decodes expressions by ({ payload: [[1, 'dreg', 'u32'], …] }):
 * it writes `attrs` named and typed (numbers by width, strings, hex for bytes; unknown ids as
 * `attr<id>`), so no hex is decoded here.
 */
export const EXPR_SCHEMA: Record<string, [number, string, AttrKind][]> = Object.fromEntries(
  Object.entries(EXPR).map(([name, attrs]) => [name, Object.entries(attrs as Record<string, { id: number; kind: AttrKind }>).map(([attr, spec]) => [spec.id, attr, spec.kind])]),
);

const HOOK_NAME = new Map<number, keyof typeof HOOK>(Object.entries(HOOK).map(([k, v]) => [v, k as keyof typeof HOOK]));
const VERDICT_NAME = new Map<number, VerdictKind>([
  ...Object.entries(NF_VERDICT).map(([k, v]) => [v, k as VerdictKind] as const),
  ...Object.entries(NFT_VERDICT).map(([k, v]) => [v, k as VerdictKind] as const),
]);

/** Names hooks, policies and element verdicts, in place (the addon's JSON is parsed fresh for each listing). */
export function decodeListing(raw: RawListing): Listing {
  for (const c of raw.chains) {
    if (typeof c.hook === 'number') c.hook = HOOK_NAME.get(c.hook) ?? c.hook;
    if (typeof c.policy === 'number') c.policy = c.policy === 1 ? 'accept' : c.policy === 0 ? 'drop' : c.policy;
  }
  for (const s of raw.sets) {
    for (const e of s.elements) {
      if (typeof e.verdict !== 'number') continue;
      const kind = VERDICT_NAME.get(e.verdict) ?? e.verdict;
      e.verdict = e.chain !== undefined ? { kind, chain: e.chain } : { kind };
      delete e.chain;
    }
  }
  return raw as Listing;
}
