/**
 * In-memory tracer: walks a packet (the first packet of a connection: `ct state new`) through a
 * BUILT NftRuleset, hook by hook, chain by chain. `numgen` forks the walk (every branch is
 * possible); every way the packet ends is judged together by `traceVerdict`. Dynamic (affinity)
 * sets are taken as empty: a fresh client.
 */
import { cidrContains } from '@kpb/model/net';
import { traceVerdict, type TracePacket, type TraceResult } from '@kpb/backend';
import { formatRule, formatVerdict } from './render.ts';
import type { ChainHook, NftChain, NftDataElement, NftMap, NftRule, NftRuleset, NftSet, Verdict } from './ruleset.ts';

interface Pkt {
  readonly src: string;
  readonly dst: string;
  readonly dport: number;
  readonly proto: 'tcp' | 'udp' | 'sctp';
  readonly mark: number;
  /** `ip:port` after DNAT. */
  readonly dnat?: string;
  readonly masquerade: boolean;
  readonly path: readonly string[];
}

type Fate = 'accept' | 'drop' | 'reject';
type ChainEnd = Fate | 'return';
interface Branch {
  readonly pkt: Pkt;
  readonly end: ChainEnd;
}
interface Done {
  readonly pkt: Pkt;
  readonly fate: Fate;
}
type RuleBranch =
  | { readonly kind: 'nomatch' | 'continue'; readonly pkt: Pkt }
  | { readonly kind: 'end'; readonly end: ChainEnd; readonly pkt: Pkt }
  | { readonly kind: 'jump' | 'goto'; readonly chain: string; readonly pkt: Pkt };

const MAX_DEPTH = 64;
const MAX_BRANCHES = 100_000;

export interface TraceContext {
  /** The node's own addresses (`fib … type local`), besides loopback. */
  readonly nodeIPs: readonly string[];
}

export function traceRuleset(rs: NftRuleset, ctx: TraceContext, packet: TracePacket): TraceResult {
  const done = new RulesetWalk(rs, ctx.nodeIPs).packet(packet);
  const verdict = traceVerdict(done.map((d) => ({ fate: d.fate, masquerade: d.pkt.masquerade, ...(d.pkt.dnat !== undefined ? { endpoint: d.pkt.dnat } : {}) })));
  return { verdict, path: mergedPath(done) };
}

/** Every step any branch took, each once, in the order first seen. */
function mergedPath(done: readonly Done[]): string[] {
  const path: string[] = [];
  const seen = new Set<string>();
  for (const d of done) {
    for (const step of d.pkt.path) {
      if (!seen.has(step)) {
        seen.add(step);
        path.push(step);
      }
    }
  }
  return path;
}

function inPrefix(ip: string, value: string): boolean {
  if (!value.includes('/')) return ip === value;
  try {
    return cidrContains(value, ip);
  } catch {
    return false;
  }
}

const field = (p: Pkt, f: 'saddr' | 'daddr') => (f === 'saddr' ? p.src : p.dst);
const keyOf = (p: Pkt, key: readonly string[]): string =>
  key.map((k) => (k === 'saddr' ? p.src : k === 'daddr' ? p.dst : k === 'l4proto' ? p.proto : String(p.dport))).join(' . ');
const elementText = (key: readonly (string | number)[]): string => key.map(String).join(' . ');
const note = (p: Pkt, text: string): Pkt => ({ ...p, path: [...p.path, text] });
const verdictBranch = (v: Verdict, pkt: Pkt): RuleBranch =>
  v.kind === 'jump' || v.kind === 'goto' ? { kind: v.kind, chain: v.chain, pkt } : { kind: 'end', end: v.kind, pkt };

/** One packet's walk through one ruleset: lookups are indexed once, the branch budget is shared. */
class RulesetWalk {
  readonly #rs: NftRuleset;
  readonly #chains: Map<string, NftChain>;
  readonly #maps: Map<string, NftMap>;
  readonly #sets: Map<string, NftSet>;
  readonly #mapIndex = new Map<string, Map<string, Verdict>>();
  readonly #dataIndex = new Map<string, Map<string, NftDataElement>>();
  readonly #keyIndex = new Map<string, Set<string>>();
  readonly #local: Set<string>;
  readonly #v6: boolean;
  #budget = MAX_BRANCHES;

  constructor(rs: NftRuleset, nodeIPs: readonly string[]) {
    this.#rs = rs;
    this.#chains = new Map(rs.chains.map((c) => [c.name, c]));
    this.#maps = new Map(rs.maps.map((m) => [m.name, m]));
    this.#sets = new Map(rs.sets.map((s) => [s.name, s]));
    this.#local = new Set(nodeIPs);
    this.#v6 = rs.family === 'ip6';
  }

  /** Every way the packet ends, through the hooks netfilter runs for its origin. */
  packet(packet: TracePacket): Done[] {
    const start: Pkt = {
      src: packet.src,
      dst: packet.dst,
      dport: packet.dport,
      proto: packet.protocol.toLowerCase() as Pkt['proto'],
      mark: 0,
      masquerade: false,
      path: [],
    };
    const done: Done[] = [];
    const finish = (p: Pkt) => done.push({ pkt: p, fate: 'accept' });
    if (packet.origin === 'forward') {
      for (const p of this.#runHook('prerouting', [start], done)) {
        if (this.#isLocal(p.dst)) this.#runHook('input', [p], done).forEach(finish);
        else this.#runHook('postrouting', this.#runHook('forward', [p], done), done).forEach(finish);
      }
    } else {
      for (const p of this.#runHook('postrouting', this.#runHook('output', [start], done), done)) {
        if (this.#isLocal(p.dst)) this.#runHook('input', [p], done).forEach(finish);
        else finish(p);
      }
    }
    return done;
  }

  #isLocal(ip: string): boolean {
    return this.#local.has(ip) || (this.#v6 ? ip === '::1' : inPrefix(ip, '127.0.0.0/8'));
  }

  #lookup(name: string, key: string): Verdict | undefined {
    let idx = this.#mapIndex.get(name);
    if (!idx) {
      idx = new Map();
      for (const e of this.#maps.get(name)?.elements ?? []) idx.set(e.key.map(String).join(' . '), e.verdict);
      this.#mapIndex.set(name, idx);
    }
    return idx.get(key);
  }

  /** A data map's element for `key` (layout `maps`). */
  #lookupData(name: string, key: string): NftDataElement | undefined {
    let idx = this.#dataIndex.get(name);
    if (!idx) {
      idx = new Map();
      const m = (this.#rs.dataMaps ?? []).find((d) => d.name === name);
      if (!m) throw new Error(`trace: data map ${name} does not exist`);
      for (const e of m.elements) idx.set(elementText(e.key), e);
      this.#dataIndex.set(name, idx);
    }
    return idx.get(key);
  }

  /** Does the (concatenated, exact-match) set hold `key`? */
  #setHasKey(name: string, key: string): boolean {
    let idx = this.#keyIndex.get(name);
    if (!idx) {
      const s = this.#sets.get(name);
      if (!s) throw new Error(`trace: set ${name} does not exist`);
      idx = new Set(s.elements.map(elementText));
      this.#keyIndex.set(name, idx);
    }
    return idx.has(key);
  }

  /** `dnat to <key> . numgen random mod N map @m`: one branch per index; an index the map lacks matches nothing. */
  #dnatMap(s: Extract<NftRule['statements'][number], { kind: 'dnat-map' }>, pkt: Pkt, here: () => Pkt): RuleBranch[] {
    const key = keyOf(pkt, s.key);
    const out: RuleBranch[] = [];
    for (let i = 0; i < s.mod; i++) {
      const e = this.#lookupData(s.map, `${key} . ${i}`);
      if (!e) {
        out.push({ kind: 'nomatch', pkt });
        continue;
      }
      const to = this.#v6 ? `[${e.addr}]:${e.port}` : `${e.addr}:${e.port}`;
      out.push({ kind: 'end', end: 'accept', pkt: { ...note(here(), `  @${s.map} ${key} . ${i} → ${to}`), dst: e.addr, dport: e.port, dnat: to } });
    }
    return out;
  }

  #setHas(name: string, value: string): boolean {
    const s = this.#sets.get(name);
    if (!s || s.flags.includes('dynamic')) return false;
    return s.elements.some((k) => inPrefix(value, String(k[0])));
  }

  /** Evaluate statements from index i; may fork. */
  #evalStatements(chain: string, rule: NftRule, i: number, pkt: Pkt): RuleBranch[] {
    if (--this.#budget < 0) throw new Error('trace: too many branches');
    const here = () => note(pkt, `${chain}: ${formatRule(rule, this.#rs.family)}`);
    const stmts = rule.statements;
    if (i >= stmts.length) return [{ kind: 'continue', pkt: here() }];
    const s = stmts[i]!;
    const next = (p: Pkt = pkt) => this.#evalStatements(chain, rule, i + 1, p);
    const fail: RuleBranch[] = [{ kind: 'nomatch', pkt }];
    switch (s.kind) {
      case 'match-addr': {
        const hit = inPrefix(field(pkt, s.field), s.value);
        return hit === (s.op === '==') ? next() : fail;
      }
      case 'match-addr-anon': {
        const hit = s.values.some((v) => inPrefix(field(pkt, s.field), v));
        return hit === (s.op === '==') ? next() : fail;
      }
      case 'match-addr-in':
        return this.#setHas(s.set, field(pkt, s.field)) ? next() : fail;
      case 'match-dport':
        return pkt.proto === s.protocol && pkt.dport === s.port ? next() : fail;
      case 'match-l4proto':
        return pkt.proto === s.protocol ? next() : fail;
      case 'match-fib-local':
        return this.#isLocal(field(pkt, s.field)) ? next() : fail;
      case 'match-ct-new':
        return next();
      case 'match-mark-clear':
        return ((pkt.mark & s.mark) >>> 0) === 0 ? next() : fail;
      case 'match-numgen':
        // Value 0 of `mod`: always when mod is 1, otherwise sometimes.
        return s.mod === 1 ? next() : [...next(), ...fail];
      case 'mark-or':
        return next({ ...pkt, mark: (pkt.mark | s.mark) >>> 0 });
      case 'mark-xor':
        return next({ ...pkt, mark: (pkt.mark ^ s.mark) >>> 0 });
      case 'set-update':
        return next();
      case 'vmap': {
        const v = this.#lookup(s.map, keyOf(pkt, s.key));
        if (!v) return fail;
        return [verdictBranch(v, note(here(), `  @${s.map} → ${formatVerdict(v)}`))];
      }
      case 'match-key-in':
        return this.#setHasKey(s.set, keyOf(pkt, s.key)) ? next() : fail;
      case 'dnat-map':
        return this.#dnatMap(s, pkt, here);
      case 'numgen-vmap':
        return s.targets.map((t, n) => verdictBranch(t, note(here(), `  numgen ${n} → ${formatVerdict(t)}`)));
      case 'dnat': {
        const to = this.#v6 ? `[${s.addr}]:${s.port}` : `${s.addr}:${s.port}`;
        return [{ kind: 'end', end: 'accept', pkt: { ...here(), dst: s.addr, dport: s.port, dnat: to } }];
      }
      case 'masquerade':
        return [{ kind: 'end', end: 'accept', pkt: { ...here(), masquerade: true } }];
      case 'reject':
        return [{ kind: 'end', end: 'reject', pkt: here() }];
      case 'verdict':
        return [verdictBranch(s.verdict, here())];
    }
  }

  #runChain(name: string, pkt: Pkt, depth: number): Branch[] {
    const chain = this.#chains.get(name);
    if (!chain) throw new Error(`trace: chain ${name} does not exist`);
    if (depth > MAX_DEPTH) throw new Error(`trace: chains nest deeper than ${MAX_DEPTH}`);
    return this.#runFrom(chain, 0, pkt, depth);
  }

  #runFrom(chain: NftChain, start: number, pkt: Pkt, depth: number): Branch[] {
    if (start >= chain.rules.length) return [{ pkt, end: 'return' }];
    const rule = chain.rules[start]!;
    const out: Branch[] = [];
    for (const b of this.#evalStatements(chain.name, rule, 0, pkt)) {
      if (b.kind === 'end') out.push({ pkt: b.pkt, end: b.end });
      else if (b.kind !== 'jump' && b.kind !== 'goto') out.push(...this.#runFrom(chain, start + 1, b.pkt, depth));
      else {
        for (const r of this.#runChain(b.chain, b.pkt, depth + 1)) {
          if (r.end !== 'return') out.push(r);
          else if (b.kind === 'jump') out.push(...this.#runFrom(chain, start + 1, r.pkt, depth));
          else out.push(r);
        }
      }
    }
    return out;
  }

  #hookChains(hook: ChainHook): NftChain[] {
    return this.#rs.chains.filter((c) => c.base?.hook === hook).sort((a, b) => a.base!.priority - b.base!.priority);
  }

  /** Run every base chain of a hook in priority order; survivors continue. */
  #runHook(hook: ChainHook, pkts: readonly Pkt[], done: Done[]): Pkt[] {
    let alive = [...pkts];
    for (const chain of this.#hookChains(hook)) {
      const next: Pkt[] = [];
      for (const p of alive) {
        for (const r of this.#runFrom(chain, 0, p, 0)) {
          if (r.end === 'drop' || r.end === 'reject') done.push({ pkt: r.pkt, fate: r.end });
          else next.push(r.pkt);
        }
      }
      alive = next;
    }
    return alive;
  }
}
