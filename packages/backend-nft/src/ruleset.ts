/**
 * The nftables ruleset object model: plain readonly data describing kpb's one table.
 *
 * Rules are lists of STRUCTURED statements from a small closed union (`Statement`), never free
 * text: the `nft -f` renderer (`render.ts`) and the libnftnl backend (`@kpb/backend-nftnl`)
 * translate exactly this model, and both must produce the same `nft list table` output. Each
 * statement kind therefore has exactly one nft syntax (see `formatStatement`), and that syntax
 * is the one `nft list` prints back, so the script and the listing agree rule for rule (one
 * exception: an anonymous set of one value, which nft stores and lists as a plain match; the
 * canonical form, `normalizeRuleText`, writes it so).
 */
import { parseCIDR, parseIP } from '@kpb/model/net';

/** nftables address family of the table (`ip` for IPv4, `ip6` for IPv6; never `inet`). */
export type NftFamily = 'ip' | 'ip6';

/** Layer-4 protocol as nft spells it. */
export type L4Proto = 'tcp' | 'udp' | 'sctp';

const L4_OF: Readonly<Record<string, L4Proto>> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

/**
 * A service port's protocol as nft writes it. The constant strings, not `toLowerCase()`'s new
 * string per call: the encoders look protocols up by name, and a new string is hashed anew.
 */
export function l4Proto(protocol: string): L4Proto {
  return L4_OF[protocol] ?? (protocol.toLowerCase() as L4Proto);
}

/** Base chain types kpb uses. */
type ChainType = 'filter' | 'nat';

/** Netfilter hooks kpb uses. */
export type ChainHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';

/** A base chain's attachment to a netfilter hook. */
export interface BaseChainSpec {
  /** `filter` or `nat`. */
  readonly type: ChainType;
  /** The netfilter hook. */
  readonly hook: ChainHook;
  /** Numeric priority (dstnat = −100, srcnat = 100); always written as a number. */
  readonly priority: number;
  /** Chain policy; kpb always uses `accept`. */
  readonly policy: 'accept';
}

/** A verdict: where a rule or a map element sends the packet. */
export type Verdict =
  | { readonly kind: 'jump' | 'goto'; readonly chain: string }
  | { readonly kind: 'accept' | 'drop' | 'return' };

/** Packet address fields (`ip saddr` / `ip6 saddr`, `ip daddr` / `ip6 daddr`). */
type AddrField = 'saddr' | 'daddr';

/** Fields that make up a lookup key: `ip saddr`, `ip daddr`, `meta l4proto`, `th dport`. */
export type KeyField = 'saddr' | 'daddr' | 'l4proto' | 'dport';

/**
 * One statement of a rule. The nft text of each kind (family `ip`; `ip6` swaps the address
 * keyword and loopback) is fixed:
 *
 * | kind | nft text |
 * |---|---|
 * | `match-addr` | `ip daddr 10.0.0.1` / `ip saddr != 10.0.0.0/8` |
 * | `match-addr-anon` | `ip saddr != { 10.0.0.0/8, 192.0.2.0/24 }` (anonymous set; nft lists one value without braces) |
 * | `match-addr-in` | `ip saddr @affinity-…` |
 * | `match-dport` | `tcp dport 80` |
 * | `match-l4proto` | `meta l4proto tcp` |
 * | `match-fib-local` | `fib daddr type local` |
 * | `match-ct-new` | `ct state new` |
 * | `match-mark-clear` | `meta mark & 0x00004000 == 0x00000000` |
 * | `match-numgen` | `numgen random mod 3 0` (equals 0) |
 * | `mark-or` | `meta mark set meta mark \| 0x00004000` |
 * | `mark-xor` | `meta mark set meta mark ^ 0x00004000` |
 * | `set-update` | `update @affinity-… { ip saddr }` |
 * | `vmap` | `ip daddr . meta l4proto . th dport vmap @service-ips` |
 * | `match-key-in` | `ip daddr . meta l4proto . th dport @service-ips-3` (layout `maps`) |
 * | `dnat-map` | `dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 3 map @service-endpoints` (layout `maps`) |
 * | `numgen-vmap` | `numgen random mod 2 vmap { 0 : goto a, 1 : goto b }` (anonymous map) |
 * | `dnat` | `dnat to 10.1.0.5:8080` (`dnat to [fd00::5]:8080`) |
 * | `masquerade` | `masquerade fully-random` / `masquerade` |
 * | `reject` | `reject` |
 * | `verdict` | `jump c` / `goto c` / `accept` / `drop` / `return` |
 */
export type Statement =
  | { readonly kind: 'match-addr'; readonly field: AddrField; readonly op: '==' | '!='; readonly value: string }
  | { readonly kind: 'match-addr-anon'; readonly field: AddrField; readonly op: '==' | '!='; readonly values: readonly string[] }
  | { readonly kind: 'match-addr-in'; readonly field: AddrField; readonly set: string }
  | { readonly kind: 'match-dport'; readonly protocol: L4Proto; readonly port: number }
  | { readonly kind: 'match-l4proto'; readonly protocol: L4Proto }
  | { readonly kind: 'match-fib-local'; readonly field: AddrField }
  | { readonly kind: 'match-ct-new' }
  | { readonly kind: 'match-mark-clear'; readonly mark: number }
  | { readonly kind: 'match-numgen'; readonly mod: number; readonly value: number }
  | { readonly kind: 'mark-or'; readonly mark: number }
  | { readonly kind: 'mark-xor'; readonly mark: number }
  | { readonly kind: 'set-update'; readonly set: string; readonly field: AddrField }
  | { readonly kind: 'vmap'; readonly key: readonly KeyField[]; readonly map: string }
  | { readonly kind: 'match-key-in'; readonly key: readonly KeyField[]; readonly set: string }
  | { readonly kind: 'dnat-map'; readonly key: readonly KeyField[]; readonly mod: number; readonly map: string }
  | { readonly kind: 'numgen-vmap'; readonly mod: number; readonly targets: readonly Verdict[] }
  | { readonly kind: 'dnat'; readonly addr: string; readonly port: number }
  | { readonly kind: 'masquerade'; readonly fullyRandom: boolean }
  | { readonly kind: 'reject' }
  | { readonly kind: 'verdict'; readonly verdict: Verdict };

/** One rule: statements evaluated left to right. */
export interface NftRule {
  /** The statements, matches first, then actions / the verdict. */
  readonly statements: readonly Statement[];
  /** Optional rule comment (fixed text, `COMMENT_RE`). */
  readonly comment?: string;
}

/** A chain: regular (jumped to) or base (attached to a hook). */
export interface NftChain {
  /** Chain name (`services`, `service-ULMVA6XW-ns1/svc1/tcp/p80`, …). */
  readonly name: string;
  /** Present for base chains: type, hook, priority, policy. */
  readonly base?: BaseChainSpec;
  /** Optional chain comment. */
  readonly comment?: string;
  /** Rules in order. */
  readonly rules: readonly NftRule[];
}

/** Types a set or map key is made of (`integer`: the endpoint index of a data map's key). */
export type KeyType = 'ipv4_addr' | 'ipv6_addr' | 'inet_proto' | 'inet_service' | 'integer';

/** One element key: one value per key type (address string, protocol name, port number). */
export type ElementKey = readonly (string | number)[];

/** A named set (kpb: `cluster-ips`, per-endpoint `affinity-…`). */
export interface NftSet {
  /** Set name. */
  readonly name: string;
  /** Key types; more than one makes a concatenation. */
  readonly keyType: readonly KeyType[];
  /** Set flags (`dynamic`, `timeout`), in this order. */
  readonly flags: readonly ('dynamic' | 'timeout')[];
  /** Default element timeout in seconds (sets with the `timeout` flag). */
  readonly timeoutSeconds?: number;
  /** Optional comment. */
  readonly comment?: string;
  /** Static elements (dynamic affinity sets start empty). */
  readonly elements: readonly ElementKey[];
}

/** One verdict-map element. */
export interface NftMapElement {
  /** The key, one value per key type. */
  readonly key: ElementKey;
  /** Optional element comment (kube-proxy's service port name on no-endpoint elements). */
  readonly comment?: string;
  /** What the element maps to. */
  readonly verdict: Verdict;
}

/** A named verdict map (`service-ips`, `service-nodeports`, `no-endpoint-*`, `firewall-ips`). */
export interface NftMap {
  /** Map name. */
  readonly name: string;
  /** Key types. */
  readonly keyType: readonly KeyType[];
  /** Data type: kpb only uses verdict maps. */
  readonly dataType: 'verdict';
  /** Optional comment. */
  readonly comment?: string;
  /** Elements. */
  readonly elements: readonly NftMapElement[];
}

/** One element of a data map: the key (field values, then the endpoint index) and the endpoint. */
export interface NftDataElement {
  readonly key: ElementKey;
  readonly addr: string;
  readonly port: number;
}

/**
 * A named data map of layout `maps`: declared `typeof <key fields> . numgen random mod 1 :
 * ip daddr . th dport` (nft cannot write a numgen key part by `type`), it maps a service address
 * and an endpoint index to the endpoint's address and port.
 */
export interface NftDataMap {
  readonly name: string;
  /** The packet fields of the key; a `numgen` index ends every key. */
  readonly key: readonly KeyField[];
  /** The key's types, the index's (`integer`) last (what element keys are checked against). */
  readonly keyType: readonly KeyType[];
  readonly comment?: string;
  readonly elements: readonly NftDataElement[];
}

/** kpb's whole table. */
export interface NftRuleset {
  /** `ip` or `ip6`. */
  readonly family: NftFamily;
  /** Always `kube-proxy`, like kube-proxy's own table. */
  readonly table: 'kube-proxy';
  /** Table comment. */
  readonly comment?: string;
  /** Chains in creation order: base chains, fixed chains, then per service port. */
  readonly chains: readonly NftChain[];
  /** Named sets. */
  readonly sets: readonly NftSet[];
  /** Named verdict maps. */
  readonly maps: readonly NftMap[];
  /** Named data maps (layout `maps` only). */
  readonly dataMaps?: readonly NftDataMap[];
}

/**
 * The layouts: `flat` (default, no anonymous set per service), `kube-proxy` (faithful) and `maps`
 * (common services through shared sets and data maps: see the package README).
 */
export type NftLayout = 'flat' | 'kube-proxy' | 'maps';

/** Chain, set and map names: what kube-proxy produces (`[A-Za-z0-9_./-]`, not starting with a digit or `-`). */
const NAME_RE = /^[A-Za-z_.][A-Za-z0-9_./-]*$/;
/** Longest object name nft accepts. */
const NAME_MAX = 256;
/** Comments: fixed texts (`@` names a map in one) and `ns/name:port` strings; at most 128 characters, as nft allows. */
export const COMMENT_RE = /^[A-Za-z0-9 ._/:,@-]{0,128}$/;

/**
 * A name kpb may write. Tested every time: a Set of names already checked was slower (hashing a
 * fresh name costs as much as the test; nft flat render at 10k×3: 345 → 296 ms without it).
 */
export function isValidName(name: string): boolean {
  return name.length <= NAME_MAX && NAME_RE.test(name);
}

/** An address or CIDR of the family (`10.0.0.1`, `10.0.0.0/8`, `fd00::/64`), as strict as the model. */
export function isAddrOrCidr(s: string, family: NftFamily): boolean {
  const want = family === 'ip' ? 'IPv4' : 'IPv6';
  if (!s.includes('/')) return parseIP(s)?.family === want;
  const cidr = parseCIDR(s);
  return cidr.ok && cidr.family === want;
}

export function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 65535;
}

/** The chain a verdict jumps or goes to. */
function verdictChain(v: Verdict): string | undefined {
  return v.kind === 'jump' || v.kind === 'goto' ? v.chain : undefined;
}

/** Named sets and maps a rule uses. */
export function ruleSetRefs(rule: NftRule): string[] {
  const out: string[] = [];
  for (const s of rule.statements) {
    if (s.kind === 'match-addr-in' || s.kind === 'set-update' || s.kind === 'match-key-in') out.push(s.set);
    else if (s.kind === 'vmap' || s.kind === 'dnat-map') out.push(s.map);
  }
  return out;
}

/** Which chains and sets exist, for `referenceProblems`. */
export interface ReferenceLookup {
  readonly chain: (name: string) => boolean;
  readonly set: (name: string) => boolean;
}

/**
 * Adds to `problems` every reference of `chains` (and of `maps`' elements, from `mapStarts[i]` on
 * in map i) to a chain or set that `has` does not know. No closure or string per reference
 * unless one is missing: the build checks every service port's objects.
 */
export function referenceProblems(
  chains: readonly NftChain[],
  maps: readonly Pick<NftMap, 'name' | 'elements'>[],
  has: ReferenceLookup,
  problems: string[],
  mapStarts?: readonly number[],
): void {
  for (const c of chains) {
    for (const r of c.rules) {
      for (const s of r.statements) {
        if (s.kind === 'verdict') missingChain('chain', c.name, verdictChain(s.verdict), has, problems);
        else if (s.kind === 'numgen-vmap') for (const t of s.targets) missingChain('chain', c.name, verdictChain(t), has, problems);
        else if (s.kind === 'match-addr-in' || s.kind === 'set-update' || s.kind === 'match-key-in') missingSet(c.name, s.set, has, problems);
        else if (s.kind === 'vmap' || s.kind === 'dnat-map') missingSet(c.name, s.map, has, problems);
      }
    }
  }
  for (let m = 0; m < maps.length; m++) {
    const { name, elements } = maps[m]!;
    for (let i = mapStarts?.[m] ?? 0; i < elements.length; i++) missingChain('map', name, verdictChain(elements[i]!.verdict), has, problems);
  }
}

function missingChain(kind: 'chain' | 'map', from: string, target: string | undefined, has: ReferenceLookup, problems: string[]): void {
  if (target !== undefined && !has.chain(target)) problems.push(`${kind} ${from} refers to missing chain ${target}`);
}

function missingSet(chain: string, target: string, has: ReferenceLookup, problems: string[]): void {
  if (!has.set(target)) problems.push(`chain ${chain} refers to missing set ${target}`);
}

/** Check references: every jump/goto target and every named set exists. Returns problems. */
export function checkReferences(rs: NftRuleset): string[] {
  const chains = new Set(rs.chains.map((c) => c.name));
  const sets = new Set([...rs.sets.map((s) => s.name), ...rs.maps.map((m) => m.name), ...(rs.dataMaps ?? []).map((m) => m.name)]);
  const problems: string[] = [];
  referenceProblems(rs.chains, rs.maps, { chain: (n) => chains.has(n), set: (n) => sets.has(n) }, problems);
  return problems;
}
