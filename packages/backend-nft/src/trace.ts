/**
 * In-memory tracer: walks a packet (the first packet of a connection: `ct state new`) through a
 * BUILT NftRuleset, hook by hook, chain by chain. `numgen` forks the walk (every branch is
 * possible), so the result is the union of what all branches do. Dynamic (affinity) sets are
 * taken as empty: a fresh client.
 */
import { cidrContains } from '@kpb/compiler';
import type { TracePacket, TraceResult } from '@kpb/backend';
import { formatRule, formatVerdict } from './render.ts';
import type { ChainHook, NftChain, NftRule, NftRuleset, Statement, Verdict } from './ruleset.ts';

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

const MAX_DEPTH = 64;
const MAX_BRANCHES = 100_000;

export interface TraceContext {
  /** The node's own addresses (`fib … type local`), besides loopback. */
  readonly nodeIPs: readonly string[];
}

export function traceRuleset(rs: NftRuleset, ctx: TraceContext, packet: TracePacket): TraceResult {
  const chains = new Map(rs.chains.map((c) => [c.name, c]));
  const maps = new Map(rs.maps.map((m) => [m.name, m]));
  const sets = new Map(rs.sets.map((s) => [s.name, s]));
  const v6 = rs.family === 'ip6';
  const local = new Set(ctx.nodeIPs);
  let budget = MAX_BRANCHES;

  const inPrefix = (ip: string, value: string): boolean => {
    if (!value.includes('/')) return ip === value;
    try {
      return cidrContains(value, ip);
    } catch {
      return false;
    }
  };
  const isLocal = (ip: string): boolean => local.has(ip) || (v6 ? ip === '::1' : inPrefix(ip, '127.0.0.0/8'));
  const field = (p: Pkt, f: 'saddr' | 'daddr') => (f === 'saddr' ? p.src : p.dst);
  const keyOf = (p: Pkt, key: readonly string[]): string =>
    key.map((k) => (k === 'daddr' ? p.dst : k === 'l4proto' ? p.proto : String(p.dport))).join(' . ');
  const mapIndex = new Map<string, Map<string, Verdict>>();
  const lookup = (name: string, key: string): Verdict | undefined => {
    let idx = mapIndex.get(name);
    if (!idx) {
      idx = new Map();
      for (const e of maps.get(name)?.elements ?? []) idx.set(e.key.map(String).join(' . '), e.verdict);
      mapIndex.set(name, idx);
    }
    return idx.get(key);
  };
  const setHas = (name: string, value: string): boolean => {
    const s = sets.get(name);
    if (!s || s.flags.includes('dynamic')) return false;
    return s.elements.some((k) => inPrefix(value, String(k[0])));
  };
  const note = (p: Pkt, text: string): Pkt => ({ ...p, path: [...p.path, text] });

  type RuleBranch =
    | { readonly kind: 'nomatch' | 'continue'; readonly pkt: Pkt }
    | { readonly kind: 'end'; readonly end: ChainEnd; readonly pkt: Pkt }
    | { readonly kind: 'jump' | 'goto'; readonly chain: string; readonly pkt: Pkt };

  const verdictBranch = (v: Verdict, pkt: Pkt): RuleBranch =>
    v.kind === 'jump' || v.kind === 'goto' ? { kind: v.kind, chain: v.chain, pkt } : { kind: 'end', end: v.kind, pkt };

  /** Evaluate statements from index i; may fork. */
  const evalStatements = (chain: string, rule: NftRule, stmts: readonly Statement[], i: number, pkt: Pkt): RuleBranch[] => {
    if (--budget < 0) throw new Error('trace: too many branches');
    const here = () => note(pkt, `${chain}: ${formatRule(rule, rs.family)}`);
    if (i >= stmts.length) return [{ kind: 'continue', pkt: here() }];
    const s = stmts[i]!;
    const next = (p: Pkt = pkt) => evalStatements(chain, rule, stmts, i + 1, p);
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
        return setHas(s.set, field(pkt, s.field)) ? next() : fail;
      case 'match-dport':
        return pkt.proto === s.protocol && pkt.dport === s.port ? next() : fail;
      case 'match-l4proto':
        return pkt.proto === s.protocol ? next() : fail;
      case 'match-fib-local':
        return isLocal(field(pkt, s.field)) ? next() : fail;
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
        const v = lookup(s.map, keyOf(pkt, s.key));
        if (!v) return fail;
        return [verdictBranch(v, note(here(), `  @${s.map} → ${formatVerdict(v)}`))];
      }
      case 'numgen-vmap':
        return s.targets.map((t, n) => verdictBranch(t, note(here(), `  numgen ${n} → ${formatVerdict(t)}`)));
      case 'dnat': {
        const to = v6 ? `[${s.addr}]:${s.port}` : `${s.addr}:${s.port}`;
        return [{ kind: 'end', end: 'accept', pkt: { ...here(), dst: s.addr, dport: s.port, dnat: to } }];
      }
      case 'masquerade':
        return [{ kind: 'end', end: 'accept', pkt: { ...here(), masquerade: true } }];
      case 'reject':
        return [{ kind: 'end', end: 'reject', pkt: here() }];
      case 'verdict':
        return [verdictBranch(s.verdict, here())];
    }
  };

  const runChain = (name: string, pkt: Pkt, depth: number): Branch[] => {
    const chain = chains.get(name);
    if (!chain) throw new Error(`trace: chain ${name} does not exist`);
    if (depth > MAX_DEPTH) throw new Error(`trace: chains nest deeper than ${MAX_DEPTH}`);
    return runFrom(chain, 0, pkt, depth);
  };

  const runFrom = (chain: NftChain, start: number, pkt: Pkt, depth: number): Branch[] => {
    if (start >= chain.rules.length) return [{ pkt, end: 'return' }];
    const rule = chain.rules[start]!;
    const out: Branch[] = [];
    for (const b of evalStatements(chain.name, rule, rule.statements, 0, pkt)) {
      if (b.kind === 'end') out.push({ pkt: b.pkt, end: b.end });
      else if (b.kind !== 'jump' && b.kind !== 'goto') out.push(...runFrom(chain, start + 1, b.pkt, depth));
      else {
        for (const r of runChain(b.chain, b.pkt, depth + 1)) {
          if (r.end !== 'return') out.push(r);
          else if (b.kind === 'jump') out.push(...runFrom(chain, start + 1, r.pkt, depth));
          else out.push(r);
        }
      }
    }
    return out;
  };

  const hookChains = (hook: ChainHook): NftChain[] =>
    rs.chains.filter((c) => c.base?.hook === hook).sort((a, b) => a.base!.priority - b.base!.priority);

  /** Run every base chain of a hook in priority order; survivors continue. */
  const runHook = (hook: ChainHook, pkts: readonly Pkt[], done: { pkt: Pkt; fate: Fate }[]): Pkt[] => {
    let alive = [...pkts];
    for (const chain of hookChains(hook)) {
      const next: Pkt[] = [];
      for (const p of alive) {
        for (const r of runFrom(chain, 0, p, 0)) {
          if (r.end === 'drop' || r.end === 'reject') done.push({ pkt: r.pkt, fate: r.end });
          else next.push(r.pkt);
        }
      }
      alive = next;
    }
    return alive;
  };

  const start: Pkt = {
    src: packet.src,
    dst: packet.dst,
    dport: packet.dport,
    proto: packet.protocol.toLowerCase() as Pkt['proto'],
    mark: 0,
    masquerade: false,
    path: [],
  };
  const done: { pkt: Pkt; fate: Fate }[] = [];
  const finish = (p: Pkt) => done.push({ pkt: p, fate: 'accept' });
  if (packet.origin === 'forward') {
    for (const p of runHook('prerouting', [start], done)) {
      if (isLocal(p.dst)) runHook('input', [p], done).forEach(finish);
      else runHook('postrouting', runHook('forward', [p], done), done).forEach(finish);
    }
  } else {
    for (const p of runHook('postrouting', runHook('output', [start], done), done)) {
      if (isLocal(p.dst)) runHook('input', [p], done).forEach(finish);
      else finish(p);
    }
  }

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
  const dnatted = done.filter((d) => d.fate === 'accept' && d.pkt.dnat !== undefined);
  if (dnatted.length) {
    const endpoints = [...new Set(dnatted.map((d) => d.pkt.dnat!))].sort();
    return { verdict: { kind: 'endpoints', endpoints, masquerade: dnatted.some((d) => d.pkt.masquerade) }, path };
  }
  if (done.some((d) => d.fate === 'reject')) return { verdict: { kind: 'rejected' }, path };
  if (done.some((d) => d.fate === 'drop')) return { verdict: { kind: 'dropped' }, path };
  return { verdict: { kind: 'untouched' }, path };
}
