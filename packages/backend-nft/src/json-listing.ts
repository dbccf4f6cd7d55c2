/**
 * `nft -j list table FAMILY kube-proxy` → the NftRuleset model, for tracing what a kernel holds.
 *
 * Strict: every JSON expression must be exactly one of the shapes `nft` prints for the model's
 * statement kinds (ruleset.ts); anything else (a counter, a log, an interface match, a set
 * flag kpb does not write, …) is refused with the object and the JSON that was not understood,
 * never approximated. nft 1.0.6's JSON leaves out two things its text listing has: the table
 * comment, chain comments and a set's `dynamic` flag; those are taken from the text listing, which the caller
 * reads anyway to check the result (`rulesetFromListings`).
 */
import { compareCanon, listedObjects } from './canonical.ts';
import { rulesetObjects } from './render.ts';
import type {
  BaseChainSpec, ChainHook, ElementKey, KeyField, KeyType, L4Proto, NftChain, NftDataElement, NftDataMap, NftFamily, NftMap, NftMapElement, NftRule, NftRuleset, NftSet,
  Statement, Verdict,
} from './ruleset.ts';

/** A part of the listing kpb's model has no place for. */
export class NotUnderstood extends Error {}

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => JSON.stringify(v);
const refuse = (what: string, v: unknown): never => {
  throw new NotUnderstood(`${what}: ${show(v)}`);
};

/** The one key of `{key: value}`, and its value. */
function single(v: unknown, what: string): [string, unknown] {
  if (!isObj(v)) return refuse(what, v);
  const keys = Object.keys(v);
  return keys.length === 1 ? [keys[0]!, v[keys[0]!]] : refuse(what, v);
}

/** `v` is an object with exactly these keys (optional ones may be absent). */
function fields(v: unknown, required: readonly string[], optional: readonly string[], what: string): Obj {
  if (!isObj(v)) return refuse(what, v);
  const keys = Object.keys(v);
  if (!required.every((k) => k in v) || !keys.every((k) => required.includes(k) || optional.includes(k))) return refuse(what, v);
  return v;
}

const PROTOS: readonly string[] = ['tcp', 'udp', 'sctp'];
const proto = (v: unknown, what: string): L4Proto => (typeof v === 'string' && PROTOS.includes(v) ? (v as L4Proto) : refuse(what, v));
const int = (v: unknown, what: string): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : refuse(what, v));
const str = (v: unknown, what: string): string => (typeof v === 'string' ? v : refuse(what, v));

const sameJson = (a: unknown, b: unknown): boolean => show(a) === show(b);
const META_MARK = { meta: { key: 'mark' } };

/** An address or prefix as the model writes it: `10.0.0.1`, `10.0.0.0/8`. */
function addrValue(v: unknown): string {
  if (typeof v === 'string' && !v.startsWith('@')) return v;
  const [k, inner] = single(v, 'address');
  if (k !== 'prefix') return refuse('address', v);
  const p = fields(inner, ['addr', 'len'], [], 'prefix');
  return `${str(p['addr'], 'prefix')}/${int(p['len'], 'prefix')}`;
}

function verdictOf(v: unknown): Verdict {
  const [k, inner] = single(v, 'verdict');
  if (k === 'accept' || k === 'drop' || k === 'return') return inner === null ? { kind: k } : refuse('verdict', v);
  if (k === 'jump' || k === 'goto') return { kind: k, chain: str(fields(inner, ['target'], [], 'verdict')['target'], 'verdict') };
  return refuse('verdict', v);
}

/** `ip saddr` / `ip6 daddr` (of the table's family), else undefined. */
function addrField(left: unknown, family: NftFamily): 'saddr' | 'daddr' | undefined {
  if (!isObj(left) || !('payload' in left)) return undefined;
  const p = fields(left['payload'], ['protocol', 'field'], [], 'payload');
  if (p['protocol'] !== family || (p['field'] !== 'saddr' && p['field'] !== 'daddr')) return undefined;
  return p['field'];
}

/** A `match` expression → one match statement. */
function matchOf(v: unknown, family: NftFamily): Statement {
  const m = fields(v, ['op', 'left', 'right'], [], 'match');
  const { op, left, right } = m as { op: unknown; left: unknown; right: unknown };
  if (op === '==' && isObj(left) && 'concat' in left && typeof right === 'string' && right.startsWith('@')) {
    return { kind: 'match-key-in', key: keyFields(left, family), set: right.slice(1) };
  }
  const field = addrField(left, family);
  if (field !== undefined) {
    if (typeof right === 'string' && right.startsWith('@')) return op === '==' ? { kind: 'match-addr-in', field, set: right.slice(1) } : refuse('match', v);
    if (op !== '==' && op !== '!=') return refuse('match', v);
    if (isObj(right) && 'set' in right) {
      const values = right['set'];
      return Array.isArray(values) ? { kind: 'match-addr-anon', field, op, values: values.map(addrValue) } : refuse('match', v);
    }
    return { kind: 'match-addr', field, op, value: addrValue(right) };
  }
  if (op === '==' && sameJson(left, { meta: { key: 'l4proto' } })) return { kind: 'match-l4proto', protocol: proto(right, 'match') };
  if (op === '==' && right === 'local' && isObj(left) && 'fib' in left) {
    const f = fields(left['fib'], ['result', 'flags'], [], 'fib');
    const flags = f['flags'];
    if (f['result'] === 'type' && Array.isArray(flags) && flags.length === 1 && (flags[0] === 'saddr' || flags[0] === 'daddr')) return { kind: 'match-fib-local', field: flags[0] };
    return refuse('match', v);
  }
  if ((op === 'in' || op === '==') && right === 'new' && sameJson(left, { ct: { key: 'state' } })) return { kind: 'match-ct-new' };
  if (op === '==' && isObj(left) && 'payload' in left) {
    const p = fields(left['payload'], ['protocol', 'field'], [], 'payload');
    if (p['field'] === 'dport') return { kind: 'match-dport', protocol: proto(p['protocol'], 'match'), port: int(right, 'match') };
  }
  if (op === '==' && right === 0 && isObj(left) && Array.isArray(left['&']) && left['&'].length === 2 && sameJson(left['&'][0], META_MARK)) {
    return { kind: 'match-mark-clear', mark: int(left['&'][1], 'match') };
  }
  if (op === '==' && isObj(left) && 'numgen' in left) {
    const n = fields(left['numgen'], ['mode', 'mod', 'offset'], [], 'numgen');
    if (n['mode'] === 'random' && n['offset'] === 0) return { kind: 'match-numgen', mod: int(n['mod'], 'numgen'), value: int(right, 'match') };
  }
  return refuse('match', v);
}

/** A lookup key: `ip daddr . meta l4proto . th dport` (or part of it), `ip saddr . ip daddr`. */
function keyFields(key: unknown, family: NftFamily): KeyField[] {
  const parts = isObj(key) && 'concat' in key && Array.isArray(key['concat']) ? key['concat'] : [key];
  return parts.map((p): KeyField => {
    const addr = addrField(p, family);
    if (addr !== undefined) return addr;
    if (sameJson(p, { meta: { key: 'l4proto' } })) return 'l4proto';
    if (sameJson(p, { payload: { protocol: 'th', field: 'dport' } })) return 'dport';
    return refuse('vmap key', key);
  });
}

function vmapOf(v: unknown, family: NftFamily): Statement {
  const m = fields(v, ['key', 'data'], [], 'vmap');
  if (typeof m['data'] === 'string' && m['data'].startsWith('@')) return { kind: 'vmap', key: keyFields(m['key'], family), map: m['data'].slice(1) };
  const key = m['key'];
  const data = m['data'];
  if (!isObj(key) || !('numgen' in key) || !isObj(data) || !Array.isArray(data['set'])) return refuse('vmap', v);
  const n = fields(key['numgen'], ['mode', 'mod', 'offset'], [], 'numgen');
  const mod = int(n['mod'], 'numgen');
  const targets = data['set'].map((e: unknown, i: number) => (Array.isArray(e) && e.length === 2 && e[0] === i ? verdictOf(e[1]) : refuse('numgen vmap element', e)));
  if (n['mode'] !== 'random' || n['offset'] !== 0 || targets.length !== mod) return refuse('vmap', v);
  return { kind: 'numgen-vmap', mod, targets };
}

/** A `meta mark set meta mark | N` / `^ N` expression. */
function mangleOf(v: unknown): Statement {
  const m = fields(v, ['key', 'value'], [], 'mangle');
  if (!sameJson(m['key'], META_MARK)) return refuse('mangle', v);
  const [op, args] = single(m['value'], 'mangle');
  if ((op !== '|' && op !== '^') || !Array.isArray(args) || args.length !== 2 || !sameJson(args[0], META_MARK)) return refuse('mangle', v);
  return { kind: op === '|' ? 'mark-or' : 'mark-xor', mark: int(args[1], 'mangle') };
}

/** `dnat ip to <key> . numgen random mod N map @m` (layout `maps`). */
function dnatMapOf(v: Obj, family: NftFamily): Statement {
  const d = fields(v, ['family', 'addr'], [], 'dnat');
  if (d['family'] !== family) return refuse('dnat', v);
  const m = fields(fields(d['addr'], ['map'], [], 'dnat')['map'], ['key', 'data'], [], 'dnat map');
  const key = fields(m['key'], ['concat'], [], 'dnat map key')['concat'];
  const map = str(m['data'], 'dnat map');
  if (!Array.isArray(key) || key.length < 2 || !map.startsWith('@')) return refuse('dnat', v);
  const last = fields(key[key.length - 1], ['numgen'], [], 'dnat map key')['numgen'];
  const n = fields(last, ['mode', 'mod', 'offset'], [], 'numgen');
  if (n['mode'] !== 'random' || n['offset'] !== 0) return refuse('dnat', v);
  const fieldsOnly = key.length === 2 ? key[0] : { concat: key.slice(0, -1) };
  return { kind: 'dnat-map', key: keyFields(fieldsOnly, family), mod: int(n['mod'], 'numgen'), map: map.slice(1) };
}

/** One expression of a rule → one statement (nft prints each of kpb's statements as one expression). */
function statementOf(expr: unknown, family: NftFamily): Statement {
  const [k, v] = single(expr, 'expression');
  switch (k) {
    case 'match':
      return matchOf(v, family);
    case 'vmap':
      return vmapOf(v, family);
    case 'mangle':
      return mangleOf(v);
    case 'set': {
      const s = fields(v, ['op', 'elem', 'set'], [], 'set statement');
      const field = addrField(s['elem'], family);
      const set = str(s['set'], 'set statement');
      return s['op'] === 'update' && field === 'saddr' && set.startsWith('@') ? { kind: 'set-update', set: set.slice(1), field } : refuse('set statement', v);
    }
    case 'dnat': {
      if (isObj(v) && isObj(v['addr']) && 'map' in v['addr']) return dnatMapOf(v, family);
      const d = fields(v, ['addr', 'port'], [], 'dnat');
      return { kind: 'dnat', addr: str(d['addr'], 'dnat'), port: int(d['port'], 'dnat') };
    }
    case 'masquerade':
      if (v === null) return { kind: 'masquerade', fullyRandom: false };
      return sameJson(v, { flags: 'fully-random' }) ? { kind: 'masquerade', fullyRandom: true } : refuse('masquerade', v);
    case 'reject':
      // `reject` as kpb writes it: nft's default, ICMP(v6) port unreachable.
      return v === null || sameJson(v, { type: family === 'ip' ? 'icmp' : 'icmpv6', expr: 'port-unreachable' }) ? { kind: 'reject' } : refuse('reject', v);
    case 'accept':
    case 'drop':
    case 'return':
    case 'jump':
    case 'goto':
      return { kind: 'verdict', verdict: verdictOf(expr) };
    default:
      return refuse('expression', expr);
  }
}

const KEY_TYPES: readonly string[] = ['ipv4_addr', 'ipv6_addr', 'inet_proto', 'inet_service', 'integer'];
function keyTypes(v: unknown): KeyType[] {
  const list = Array.isArray(v) ? v : [v];
  return list.map((t) => (typeof t === 'string' && KEY_TYPES.includes(t) ? (t as KeyType) : refuse('key type', v)));
}

/** One element key, one value per key type. */
function elementKey(v: unknown, types: readonly KeyType[]): ElementKey {
  const parts = isObj(v) && 'concat' in v && Array.isArray(v['concat']) ? v['concat'] : [v];
  if (parts.length !== types.length) return refuse('element', v);
  return parts.map((p, i) => {
    const t = types[i]!;
    if (t === 'inet_service' || t === 'integer') return int(p, 'element');
    if (t === 'inet_proto') return proto(p, 'element');
    return addrValue(p);
  });
}

/** A verdict-map element; a commented key is listed as `{ "elem": { "val": key, "comment": … } }`. */
function mapElement(key: unknown, verdict: unknown, keyType: readonly KeyType[]): NftMapElement {
  if (isObj(key) && 'elem' in key) {
    const e = fields(single(key, 'map element')[1] as Obj, ['val', 'comment'], [], 'map element');
    return { key: elementKey(e['val'], keyType), comment: str(e['comment'], 'map element'), verdict: verdictOf(verdict) };
  }
  return { key: elementKey(key, keyType), verdict: verdictOf(verdict) };
}

/** The packet field kpb declares each key type of a data map by (`typeof`; the text listing checks it). */
const FIELD_OF_TYPE: Readonly<Record<string, KeyField>> = { ipv4_addr: 'daddr', ipv6_addr: 'daddr', inet_proto: 'l4proto', inet_service: 'dport' };

/** A data map of layout `maps`: `… . integer : ipv4_addr . inet_service`. */
function dataMapOf(o: Obj, family: NftFamily): NftDataMap {
  const keyType = keyTypes(o['type']);
  const addr = family === 'ip' ? 'ipv4_addr' : 'ipv6_addr';
  if (o['map'] !== `${addr} . inet_service` || keyType[keyType.length - 1] !== 'integer') return refuse('map', o);
  const key = keyType.slice(0, -1).map((t) => FIELD_OF_TYPE[t] ?? refuse('data map key', o['type']));
  const elem = o['elem'] ?? [];
  const elements = Array.isArray(elem)
    ? elem.map((e: unknown): NftDataElement => {
        if (!Array.isArray(e) || e.length !== 2) return refuse('map element', e);
        const data = elementKey(e[1], [addr, 'inet_service']);
        return { key: elementKey(e[0], keyType), addr: String(data[0]), port: Number(data[1]) };
      })
    : refuse('map', o);
  return { name: str(o['name'], 'map'), key, keyType, ...(o['comment'] !== undefined ? { comment: str(o['comment'], 'map') } : {}), elements };
}

function mapOf(m: Obj, family: NftFamily): NftMap | NftDataMap {
  const o = fields(m, ['family', 'name', 'table', 'type', 'handle', 'map'], ['comment', 'elem'], 'map');
  if (o['map'] !== 'verdict') return dataMapOf(o, family);
  const keyType = keyTypes(o['type']);
  const elem = o['elem'] ?? [];
  const elements = Array.isArray(elem)
    ? elem.map((e: unknown) => (Array.isArray(e) && e.length === 2 ? mapElement(e[0], e[1], keyType) : refuse('map element', e)))
    : refuse('map', m);
  return { name: str(o['name'], 'map'), keyType, dataType: 'verdict', ...(o['comment'] !== undefined ? { comment: str(o['comment'], 'map') } : {}), elements };
}

/** A set; `dynamic`: the text listing says `flags dynamic` (nft 1.0.6's JSON does not). */
function setOf(s: Obj, dynamic: boolean): NftSet {
  const o = fields(s, ['family', 'name', 'table', 'type', 'handle'], ['flags', 'timeout', 'size', 'comment', 'elem'], 'set');
  const flags = o['flags'] ?? [];
  if (!Array.isArray(flags) || !flags.every((f) => f === 'timeout')) return refuse('set flags', s);
  const keyType = keyTypes(o['type']);
  const all: ('dynamic' | 'timeout')[] = [...(dynamic ? (['dynamic'] as const) : []), ...(flags.length > 0 ? (['timeout'] as const) : [])];
  const elem = o['elem'] ?? [];
  // A dynamic set's elements are runtime state (affinity entries): the tracer takes it as empty.
  const elements = dynamic ? [] : Array.isArray(elem) ? elem.map((e: unknown) => elementKey(e, keyType)) : refuse('set', s);
  return {
    name: str(o['name'], 'set'),
    keyType,
    flags: all,
    ...(o['timeout'] !== undefined ? { timeoutSeconds: int(o['timeout'], 'set') } : {}),
    ...(o['comment'] !== undefined ? { comment: str(o['comment'], 'set') } : {}),
    elements,
  };
}

const HOOKS: readonly string[] = ['prerouting', 'input', 'forward', 'output', 'postrouting'];
function chainOf(c: Obj): NftChain {
  const o = fields(c, ['family', 'table', 'name', 'handle'], ['type', 'hook', 'prio', 'policy', 'comment'], 'chain');
  const comment = o['comment'] !== undefined ? { comment: str(o['comment'], 'chain') } : {};
  if (o['hook'] === undefined) return { name: str(o['name'], 'chain'), ...comment, rules: [] };
  const { type, hook, prio, policy } = o;
  if ((type !== 'filter' && type !== 'nat') || !HOOKS.includes(String(hook)) || typeof prio !== 'number' || policy !== 'accept') return refuse('base chain', c);
  const base: BaseChainSpec = { type, hook: hook as ChainHook, priority: prio, policy };
  return { name: str(o['name'], 'chain'), base, ...comment, rules: [] };
}

function ruleOf(r: Obj, family: NftFamily): NftRule {
  const o = fields(r, ['family', 'table', 'chain', 'handle', 'expr'], ['comment'], 'rule');
  const exprs = o['expr'];
  const statements = Array.isArray(exprs) ? exprs.map((e) => statementOf(e, family)) : refuse('rule', r);
  return o['comment'] !== undefined ? { statements, comment: str(o['comment'], 'rule') } : { statements };
}

/** What the text listing says that the JSON does not: the table's and the chains' comments, the dynamic sets. */
interface TextOnly {
  readonly comment?: string;
  readonly chainComments: Map<string, string>;
  readonly dynamic: Set<string>;
}

function textOnly(text: string): TextOnly {
  const dynamic = new Set<string>();
  const chainComments = new Map<string, string>();
  let comment: string | undefined;
  for (const o of listedObjects(text)) {
    if (o.kind === 'set' && o.props.some((p) => p.startsWith('flags ') && p.slice(6).split(',').includes('dynamic'))) dynamic.add(o.name);
    const c = o.kind === 'table' || o.kind === 'chain' ? o.props.find((p) => p.startsWith('comment "')) : undefined;
    if (c === undefined) continue;
    if (o.kind === 'table') comment = c.slice('comment "'.length, -1);
    else chainComments.set(o.name, c.slice('comment "'.length, -1));
  }
  return comment !== undefined ? { comment, chainComments, dynamic } : { chainComments, dynamic };
}

/** Objects of the JSON listing, each in its chain/set/map, in the order listed. */
function rulesetFromJson(json: string, family: NftFamily, text: TextOnly): NftRuleset {
  const items = (JSON.parse(json) as { nftables?: unknown }).nftables;
  if (!Array.isArray(items)) return refuse('listing', json.slice(0, 200));
  const chains = new Map<string, { chain: NftChain; rules: NftRule[] }>();
  const sets: NftSet[] = [];
  const maps: NftMap[] = [];
  const dataMaps: NftDataMap[] = [];
  for (const item of items) {
    const [k, v] = single(item, 'listing object');
    if (k === 'metainfo' || k === 'table') continue;
    if (!isObj(v)) return refuse(k, v);
    if (k === 'chain') {
      const name = str(v['name'], 'chain');
      const comment = text.chainComments.get(name);
      chains.set(name, { chain: { ...chainOf(v), ...(comment !== undefined ? { comment } : {}) }, rules: [] });
    }
    else if (k === 'rule') {
      const chain = chains.get(str(v['chain'], 'rule'));
      if (!chain) return refuse('rule of an unlisted chain', v);
      try {
        chain.rules.push(ruleOf(v, family));
      } catch (e) {
        throw e instanceof NotUnderstood ? new NotUnderstood(`chain ${chain.chain.name}, rule ${chain.rules.length + 1}: ${e.message}`) : e;
      }
    } else if (k === 'map') {
      const m = mapOf(v, family);
      if ('dataType' in m) maps.push(m);
      else dataMaps.push(m);
    }
    else if (k === 'set') sets.push(setOf(v, text.dynamic.has(str(v['name'], 'set'))));
    else return refuse('listing object', item);
  }
  const all = [...chains.values()].map(({ chain, rules }) => ({ ...chain, rules }));
  return { family, table: 'kube-proxy', ...(text.comment !== undefined ? { comment: text.comment } : {}), chains: all, sets, maps, ...(dataMaps.length > 0 ? { dataMaps } : {}) };
}

/**
 * The ruleset an `nft -j list table` listing holds, checked against the same table's text
 * listing: the model must print (canonically) exactly what nft printed, object for object, or it
 * is refused with the objects that differ. Throws NotUnderstood.
 */
export function rulesetFromListings(json: string, text: string, family: NftFamily): NftRuleset {
  const rs = rulesetFromJson(json, family, textOnly(text));
  const differences = compareCanon(rulesetObjects(rs), listedObjects(text));
  if (differences.length > 0) {
    const shown = differences.slice(0, 5).map((d) => `${d.kind} ${d.object}${d.detail ? `: ${d.detail}` : ''}`);
    throw new NotUnderstood(`the table's text and JSON listings do not read as the same ruleset (or it changed in between): ${shown.join('; ')}`);
  }
  return rs;
}
