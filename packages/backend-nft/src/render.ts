/**
 * NftRuleset → text: the `nft -f` script, and kpb's canonical listing (the form `readBack`
 * normalises `nft list table` into). Every name and value is checked before it is written.
 */
import { ipFromBigInt, ipToBigInt, parseCIDR } from '@kpb/model/net';
import { writeReplace } from './ops.ts';
import type { RulesetStream } from './build.ts';
import { STREAM_PARTS, writeStreamReplace } from './stream.ts';
import type { StreamPart } from './stream.ts';
import type { NftSink } from './ops.ts';
import { COMMENT_RE, isAddrOrCidr, isPort, isValidName } from './ruleset.ts';
import type {
  BaseChainSpec, ElementKey, KeyField, KeyType, NftChain, NftDataElement, NftDataMap, NftFamily, NftMap, NftMapElement, NftRule, NftRuleset,
  NftSet, Statement, Verdict,
} from './ruleset.ts';

/** A value that cannot be written safely (a bug upstream: plan values are validated). */
export class RenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RenderError';
  }
}

function checkName(name: string): string {
  if (!isValidName(name)) throw new RenderError(`refusing to write nft object name ${JSON.stringify(name)}`);
  return name;
}

function checkAddr(value: string, family: NftFamily): string {
  if (!isAddrOrCidr(value, family)) throw new RenderError(`refusing to write ${JSON.stringify(value)} as an ${family} address`);
  return value;
}

function checkInt(n: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(n) || n < min || n > max) throw new RenderError(`refusing to write ${what} ${n}`);
  return n;
}

function checkComment(c: string): string {
  if (!COMMENT_RE.test(c)) throw new RenderError(`refusing to write comment ${JSON.stringify(c)}`);
  return c;
}

const PROTOS = new Set(['tcp', 'udp', 'sctp']);
function checkProto(p: string): string {
  if (!PROTOS.has(p)) throw new RenderError(`refusing to write protocol ${JSON.stringify(p)}`);
  return p;
}

/** A mark as nft prints it: hex zero-padded to 8 digits (`0x00004000`). */
function hexMarkPadded(mark: number): string {
  checkInt(mark, 0, 0xffffffff, 'mark');
  return `0x${mark.toString(16).padStart(8, '0')}`;
}

export function formatVerdict(v: Verdict): string {
  switch (v.kind) {
    case 'jump':
    case 'goto':
      return `${v.kind} ${checkName(v.chain)}`;
    case 'accept':
    case 'drop':
    case 'return':
      return v.kind;
  }
}

function keyField(k: KeyField, family: NftFamily): string {
  switch (k) {
    case 'saddr':
      return `${family} saddr`;
    case 'daddr':
      return `${family} daddr`;
    case 'l4proto':
      return 'meta l4proto';
    case 'dport':
      return 'th dport';
  }
}

/** Address (or the address of a prefix) → number; the values were checked by `checkAddr`. */
function addrNumber(value: string): bigint {
  const n = ipToBigInt(value.split('/')[0]!);
  if (n === undefined) throw new RenderError(`refusing to sort ${JSON.stringify(value)} as an address`);
  return n;
}

export function sortAddrs(values: readonly string[]): string[] {
  return [...values].sort((a, b) => {
    const x = addrNumber(a);
    const y = addrNumber(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

const ANON_ADDR_SET = /\b(ip6?) (saddr|daddr) (!= )?\{ ([^}]*) \}/g;

/**
 * Rule text with every anonymous address set rewritten as merged intervals (`mergeAddrs`), one
 * interval without braces. nft merges overlapping and adjacent prefixes of an anonymous set when
 * it stores it (and a set of one value becomes a plain match), and lists the result in its own
 * way; kpb compares both sides in this merged form. A set with a value that is
 * not an address of the family (a foreign rule) is left as it is.
 */
export function normalizeRuleText(text: string): string {
  if (!text.includes('{')) return text;
  return text.replace(ANON_ADDR_SET, (whole: string, fam: string, field: string, neg: string | undefined, body: string) => {
    const values = body.split(',').map((v) => v.trim()).filter(Boolean);
    const merged = mergeAddrs(values, fam === 'ip6' ? 'ip6' : 'ip');
    if (!merged) return whole;
    // nft stores an anonymous set of one value as a plain match and lists it without braces.
    return `${fam} ${field} ${neg ?? ''}${merged.length === 1 ? merged[0]! : `{ ${merged.join(', ')} }`}`;
  });
}

/** One value of an anonymous set (address, prefix or `first-last` range) as an interval. */
function interval(value: string, bits: bigint): [bigint, bigint] | undefined {
  const dash = value.indexOf('-');
  if (dash > 0) {
    const first = ipToBigInt(value.slice(0, dash));
    const last = ipToBigInt(value.slice(dash + 1));
    return first === undefined || last === undefined ? undefined : [first, last];
  }
  const [addr, len] = value.split('/') as [string, string | undefined];
  const start = ipToBigInt(addr);
  if (start === undefined) return undefined;
  if (len === undefined) return [start, start];
  if (!parseCIDR(value).ok) return undefined;
  return [start, start | ((1n << (bits - BigInt(len))) - 1n)];
}

/**
 * An anonymous set of addresses/prefixes/ranges as intervals: intervals sorted, overlapping
 * and adjacent ones merged, each printed as an address, a prefix or a `first-last` range.
 * `undefined` when a value is not an address, prefix or range of the family.
 */
export function mergeAddrs(values: readonly string[], family: NftFamily): string[] | undefined {
  const ipFamily = family === 'ip6' ? 'IPv6' : 'IPv4';
  const bits = family === 'ip6' ? 128n : 32n;
  const intervals: [bigint, bigint][] = [];
  for (const v of values) {
    const iv = v.includes(':') === (family === 'ip6') ? interval(v, bits) : undefined;
    if (!iv || iv[1] >> bits !== 0n) return undefined;
    intervals.push(iv);
  }
  intervals.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const iv of intervals) {
    const last = merged[merged.length - 1];
    if (last && iv[0] <= last[1] + 1n) last[1] = iv[1] > last[1] ? iv[1] : last[1];
    else merged.push([iv[0], iv[1]]);
  }
  return merged.map(([a, b]) => {
    if (a === b) return ipFromBigInt(a, ipFamily);
    const size = b - a + 1n;
    const isPow2 = (size & (size - 1n)) === 0n;
    if (isPow2 && (a & (size - 1n)) === 0n) {
      let host = 0n;
      while (1n << host < size) host++;
      return `${ipFromBigInt(a, ipFamily)}/${bits - host}`;
    }
    return `${ipFromBigInt(a, ipFamily)}-${ipFromBigInt(b, ipFamily)}`;
  });
}

/** The fixed nft text of one statement (identical to what `nft list` prints). */
function formatStatement(s: Statement, family: NftFamily): string {
  const fam = family;
  switch (s.kind) {
    case 'match-addr':
      return `${fam} ${s.field} ${s.op === '!=' ? '!= ' : ''}${checkAddr(s.value, family)}`;
    case 'match-addr-anon': {
      if (s.values.length === 0) throw new RenderError('empty anonymous set');
      // Braces even for one value, as kube-proxy writes it (nft lists that one without them).
      const values = sortAddrs(s.values.map((v) => checkAddr(v, family)));
      return `${fam} ${s.field} ${s.op === '!=' ? '!= ' : ''}{ ${values.join(', ')} }`;
    }
    case 'match-addr-in':
      return `${fam} ${s.field} @${checkName(s.set)}`;
    case 'match-dport':
      return `${checkProto(s.protocol)} dport ${checkInt(s.port, 0, 65535, 'port')}`;
    case 'match-l4proto':
      return `meta l4proto ${checkProto(s.protocol)}`;
    case 'match-fib-local':
      return `fib ${s.field} type local`;
    case 'match-ct-new':
      return 'ct state new';
    case 'match-mark-clear':
      return `meta mark & ${hexMarkPadded(s.mark)} == 0x00000000`;
    case 'match-numgen':
      return `numgen random mod ${checkInt(s.mod, 1, 1 << 30, 'numgen modulus')} ${checkInt(s.value, 0, s.mod - 1, 'numgen value')}`;
    case 'mark-or':
      return `meta mark set meta mark | ${hexMarkPadded(s.mark)}`;
    case 'mark-xor':
      return `meta mark set meta mark ^ ${hexMarkPadded(s.mark)}`;
    case 'set-update':
      return `update @${checkName(s.set)} { ${fam} ${s.field} }`;
    case 'vmap':
      if (s.key.length === 0) throw new RenderError('empty vmap key');
      return `${s.key.map((k) => keyField(k, family)).join(' . ')} vmap @${checkName(s.map)}`;
    case 'match-key-in':
      return `${keyText(s.key, family)} @${checkName(s.set)}`;
    case 'dnat-map':
      checkInt(s.mod, 1, 1 << 30, 'numgen modulus');
      return `dnat ${family} to ${keyText(s.key, family)} . numgen random mod ${s.mod} map @${checkName(s.map)}`;
    case 'numgen-vmap': {
      checkInt(s.mod, 1, 1 << 30, 'numgen modulus');
      if (s.targets.length !== s.mod) throw new RenderError(`numgen vmap with ${s.targets.length} targets for mod ${s.mod}`);
      return `numgen random mod ${s.mod} vmap { ${s.targets.map((t, i) => `${i} : ${formatVerdict(t)}`).join(', ')} }`;
    }
    case 'dnat': {
      const addr = checkAddr(s.addr, family);
      if (addr.includes('/')) throw new RenderError(`dnat to a prefix ${addr}`);
      return `dnat to ${family === 'ip6' ? `[${addr}]` : addr}:${checkInt(s.port, 1, 65535, 'port')}`;
    }
    case 'masquerade':
      return s.fullyRandom ? 'masquerade fully-random' : 'masquerade';
    case 'reject':
      return 'reject';
    case 'verdict':
      return formatVerdict(s.verdict);
  }
}

/** A concatenated lookup key: `ip daddr . meta l4proto . th dport`. */
function keyText(key: readonly KeyField[], family: NftFamily): string {
  if (key.length === 0) throw new RenderError('empty lookup key');
  return key.map((k) => keyField(k, family)).join(' . ');
}

/** One rule's text: statements, then the comment. */
export function formatRule(rule: NftRule, family: NftFamily): string {
  if (rule.statements.length === 0) throw new RenderError('empty rule');
  const text = rule.statements.map((s) => formatStatement(s, family)).join(' ');
  return rule.comment !== undefined ? `${text} comment "${checkComment(rule.comment)}"` : text;
}

function formatKeyType(types: readonly KeyType[]): string {
  if (types.length === 0) throw new RenderError('empty key type');
  return types.join(' . ');
}

/** One element key (`10.0.0.1 . tcp . 80`), checked against the key types. */
export function formatKey(key: ElementKey, types: readonly KeyType[], family: NftFamily): string {
  if (key.length !== types.length) throw new RenderError(`element ${key.join(' . ')} does not match ${types.join(' . ')}`);
  return key
    .map((v, i) => {
      const t = types[i]!;
      if (t === 'inet_service') {
        if (typeof v !== 'number' || !isPort(v)) throw new RenderError(`refusing to write port ${String(v)}`);
        return String(v);
      }
      if (t === 'integer') return String(checkInt(typeof v === 'number' ? v : NaN, 0, 2 ** 32 - 1, 'endpoint index'));
      if (typeof v !== 'string') throw new RenderError(`refusing to write ${String(v)} as ${t}`);
      if (t === 'inet_proto') return checkProto(v);
      if ((t === 'ipv4_addr') !== (family === 'ip')) throw new RenderError(`${t} in an ${family} table`);
      return checkAddr(v, family);
    })
    .join(' . ');
}

/** One map element as nft lists it: `key [comment "…"] : verdict`. */
export function formatMapElement(m: Pick<NftMap, 'keyType'>, e: NftMap['elements'][number], family: NftFamily): string {
  const comment = e.comment !== undefined ? ` comment "${checkComment(e.comment)}"` : '';
  return `${formatKey(e.key, m.keyType, family)}${comment} : ${formatVerdict(e.verdict)}`;
}

/** One data-map element as nft lists it: `10.96.0.1 . tcp . 80 . 0 : 10.1.0.5 . 8080`. */
export function formatDataElement(m: Pick<NftDataMap, 'keyType'>, e: NftDataElement, family: NftFamily): string {
  const addr = checkAddr(e.addr, family);
  if (addr.includes('/')) throw new RenderError(`endpoint ${addr} is a prefix`);
  return `${formatKey(e.key, m.keyType, family)} : ${addr} . ${checkInt(e.port, 1, 65535, 'port')}`;
}

/** A data map's `typeof` declaration (without `typeof`): the key fields, the index, the endpoint. */
export function dataMapType(m: Pick<NftDataMap, 'key'>, family: NftFamily): string {
  return `${keyText(m.key, family)} . numgen random mod 1 : ${family} daddr . th dport`;
}

function baseSpec(b: BaseChainSpec): string {
  checkInt(b.priority, -1000, 1000, 'priority');
  return `type ${b.type} hook ${b.hook} priority ${b.priority} ; policy ${b.policy} ;`;
}

function chainDecl(c: NftChain): string {
  const parts: string[] = [];
  if (c.base) parts.push(baseSpec(c.base));
  if (c.comment !== undefined) parts.push(`comment "${checkComment(c.comment)}" ;`);
  return parts.length ? ` { ${parts.join(' ')} }` : '';
}

function setDecl(s: NftSet): string {
  const parts = [`type ${formatKeyType(s.keyType)} ;`];
  if (s.flags.length) parts.push(`flags ${s.flags.join(',')} ;`);
  if (s.timeoutSeconds !== undefined) parts.push(`timeout ${checkInt(s.timeoutSeconds, 1, 1e9, 'timeout')}s ;`);
  if (s.comment !== undefined) parts.push(`comment "${checkComment(s.comment)}" ;`);
  return ` { ${parts.join(' ')} }`;
}

function mapDecl(m: NftMap): string {
  const parts = [`type ${formatKeyType(m.keyType)} : ${m.dataType} ;`];
  if (m.comment !== undefined) parts.push(`comment "${checkComment(m.comment)}" ;`);
  return ` { ${parts.join(' ')} }`;
}

function dataMapDecl(m: NftDataMap, family: NftFamily): string {
  const parts = [`typeof ${dataMapType(m, family)} ;`];
  if (m.comment !== undefined) parts.push(`comment "${checkComment(m.comment)}" ;`);
  return ` { ${parts.join(' ')} }`;
}

/** Elements per `add element` / `delete element` command. */
const ELEMENTS_PER_COMMAND = 1000;

/** Prints nft commands for one table: the `nft -f` sink of the op walk (ops.ts). */
export class ScriptWriter implements NftSink {
  readonly lines: string[] = [];
  private readonly t: string;
  constructor(readonly family: NftFamily, table: string) {
    this.t = `${family} ${checkName(table)}`;
  }
  private line(s: string): void {
    this.lines.push(s);
  }
  addTable(comment: string | undefined): void {
    this.line(`add table ${this.t}${comment !== undefined ? ` { comment "${checkComment(comment)}" ; }` : ''}`);
  }
  deleteTable(): void {
    this.line(`delete table ${this.t}`);
  }
  addChain(c: NftChain): void {
    this.line(`add chain ${this.t} ${checkName(c.name)}${chainDecl(c)}`);
  }
  flushChain(name: string): void {
    this.line(`flush chain ${this.t} ${checkName(name)}`);
  }
  deleteChain(name: string): void {
    this.line(`delete chain ${this.t} ${checkName(name)}`);
  }
  addSet(s: NftSet): void {
    this.line(`add set ${this.t} ${checkName(s.name)}${setDecl(s)}`);
  }
  addMap(m: NftMap): void {
    this.line(`add map ${this.t} ${checkName(m.name)}${mapDecl(m)}`);
  }
  addDataMap(m: NftDataMap): void {
    this.line(`add map ${this.t} ${checkName(m.name)}${dataMapDecl(m, this.family)}`);
  }
  deleteSet(kind: 'set' | 'map', name: string): void {
    this.line(`delete ${kind} ${this.t} ${checkName(name)}`);
  }
  addRules(chain: string, rules: readonly NftRule[]): void {
    checkName(chain);
    for (const r of rules) this.line(`add rule ${this.t} ${chain} ${formatRule(r, this.family)}`);
  }
  addSetElements(name: string, keyType: readonly KeyType[], keys: readonly ElementKey[]): void {
    this.elements('add', name, keys.map((k) => formatKey(k, keyType, this.family)));
  }
  addMapElements(name: string, keyType: readonly KeyType[], elements: readonly NftMapElement[]): void {
    this.elements('add', name, elements.map((e) => formatMapElement({ keyType }, e, this.family)));
  }
  addDataMapElements(name: string, keyType: readonly KeyType[], elements: readonly NftDataElement[]): void {
    this.elements('add', name, elements.map((e) => formatDataElement({ keyType }, e, this.family)));
  }
  deleteElements(_target: 'set' | 'map', name: string, keyType: readonly KeyType[], keys: readonly ElementKey[]): void {
    this.elements('delete', name, keys.map((k) => formatKey(k, keyType, this.family)));
  }
  private elements(verb: 'add' | 'delete', name: string, texts: readonly string[]): void {
    checkName(name);
    for (let i = 0; i < texts.length; i += ELEMENTS_PER_COMMAND) {
      this.line(`${verb} element ${this.t} ${name} { ${texts.slice(i, i + ELEMENTS_PER_COMMAND).join(', ')} }`);
    }
  }
  text(): string {
    return this.lines.length ? `${this.lines.join('\n')}\n` : '';
  }
}

function setElementTexts(s: NftSet, family: NftFamily): string[] {
  return s.elements.map((k) => formatKey(k, s.keyType, family));
}

function mapElementTexts(m: NftMap, family: NftFamily): string[] {
  return m.elements.map((e) => formatMapElement(m, e, family));
}

/** The full `nft -f` script: an atomic replace of the table (`writeReplace`), one transaction. */
export function renderScript(rs: NftRuleset): string {
  const w = new ScriptWriter(rs.family, rs.table);
  writeReplace(w, rs);
  return w.text();
}

/** The same script as `renderScript`, written one service port at a time from the stream (no whole NftRuleset). */
export function renderStreamScript(stream: RulesetStream): string {
  const writers = new Map<StreamPart, ScriptWriter>(STREAM_PARTS.map((p) => [p, new ScriptWriter(stream.family, stream.table)]));
  writeStreamReplace(stream, (part) => writers.get(part)!);
  const lines: string[] = [];
  for (const p of STREAM_PARTS) for (const l of writers.get(p)!.lines) lines.push(l);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

// ---------------------------------------------------------------------------------------------
// Canonical form

/** One object of the canonical form. */
export interface CanonObject {
  readonly kind: 'table' | 'chain' | 'set' | 'map';
  readonly name: string;
  /** Definition lines (type, hook, flags, timeout, comment), in a fixed order. */
  readonly props: readonly string[];
  /** Chains: rules in order. Sets and maps: elements, sorted. */
  readonly items: readonly string[];
}

function chainProps(base: BaseChainSpec | undefined, comment: string | undefined): string[] {
  const props: string[] = [];
  if (base) props.push(`type ${base.type} hook ${base.hook} priority ${base.priority} policy ${base.policy}`);
  if (comment !== undefined) props.push(`comment "${comment}"`);
  return props;
}

function setProps(keyType: string, flags: string | undefined, timeoutSeconds: number | undefined, comment: string | undefined): string[] {
  const props = [`type ${keyType}`];
  if (flags) props.push(`flags ${flags}`);
  if (timeoutSeconds !== undefined) props.push(`timeout ${timeoutSeconds}s`);
  if (comment !== undefined) props.push(`comment "${comment}"`);
  return props;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The canonical object of a ruleset's table. */
export function tableCanon(rs: { readonly family: NftFamily; readonly table: string; readonly comment?: string | undefined }): CanonObject {
  return { kind: 'table', name: `${rs.family} ${rs.table}`, props: rs.comment !== undefined ? [`comment "${rs.comment}"`] : [], items: [] };
}

/** The canonical object of one chain: its rules as nft lists them, anonymous sets merged. */
export function chainCanon(c: NftChain, family: NftFamily): CanonObject {
  return { kind: 'chain', name: c.name, props: chainProps(c.base, c.comment), items: c.rules.map((r) => normalizeRuleText(formatRule(r, family))) };
}

/** The canonical object of one set (elements sorted; a dynamic set's are runtime state: none). */
export function setCanon(s: NftSet, family: NftFamily): CanonObject {
  const dynamic = s.flags.includes('dynamic');
  return {
    kind: 'set',
    name: s.name,
    props: setProps(formatKeyType(s.keyType), s.flags.join(','), s.timeoutSeconds, s.comment),
    items: dynamic ? [] : setElementTexts(s, family).sort(byText),
  };
}

/** The canonical object of one verdict map (elements sorted). */
export function mapCanon(m: NftMap, family: NftFamily): CanonObject {
  return {
    kind: 'map',
    name: m.name,
    props: setProps(`${formatKeyType(m.keyType)} : ${m.dataType}`, undefined, undefined, m.comment),
    items: mapElementTexts(m, family).sort(byText),
  };
}

/** The canonical object of one data map (elements sorted): its `typeof` line as nft lists it. */
export function dataMapCanon(m: NftDataMap, family: NftFamily): CanonObject {
  const props = [`typeof ${dataMapType(m, family)}`];
  if (m.comment !== undefined) props.push(`comment "${m.comment}"`);
  return { kind: 'map', name: m.name, props, items: m.elements.map((e) => formatDataElement(m, e, family)).sort(byText) };
}

/** The canonical objects of a ruleset, in the ruleset's order. */
export function rulesetObjects(rs: NftRuleset): CanonObject[] {
  const out: CanonObject[] = [tableCanon(rs)];
  for (const c of rs.chains) out.push(chainCanon(c, rs.family));
  for (const s of rs.sets) out.push(setCanon(s, rs.family));
  for (const m of rs.maps) out.push(mapCanon(m, rs.family));
  for (const m of rs.dataMaps ?? []) out.push(dataMapCanon(m, rs.family));
  return out;
}

/** The canonical objects of a ruleset (what the kernel lists back after loading it), in canonical order. */
function canonicalObjects(rs: NftRuleset): CanonObject[] {
  return sortCanon(rulesetObjects(rs));
}

const KIND_ORDER = { table: 0, chain: 1, set: 2, map: 3 } as const;

/** The canonical order of objects: by kind (table, chains, sets, maps), then name. */
export const canonOrder = (a: Pick<CanonObject, 'kind' | 'name'>, b: Pick<CanonObject, 'kind' | 'name'>): number =>
  KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || byText(a.name, b.name);

export function sortCanon(objects: CanonObject[]): CanonObject[] {
  return objects.sort(canonOrder);
}

/** Canonical text: one object after another, sorted by kind and name. */
export function printCanon(objects: readonly CanonObject[]): string {
  const lines: string[] = [];
  for (const o of objects) {
    lines.push(`${o.kind} ${o.name}`);
    for (const p of o.props) lines.push(`  ${p}`);
    const prefix = o.kind === 'chain' ? 'rule' : 'element';
    for (const i of o.items) lines.push(`  ${prefix} ${i}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** The canonical text of a ruleset: what `readBack` returns once it is loaded. */
export function renderCanonical(rs: NftRuleset): string {
  return printCanon(canonicalObjects(rs));
}
