/**
 * In-memory packet tracer over the RENDERED TEXT (not the plan): the text is parsed back into
 * chains and rules and a packet is walked through them the way netfilter would, branching at
 * `-m statistic` (both outcomes possible) and taking `-m recent --rcheck` as no match (first
 * packet). Every way the packet ends is judged together by `traceVerdict`. A renderer bug
 * therefore shows up here too.
 */
import { cidrContains } from '@kpb/model/net';
import { traceVerdict, type TraceBranch, type TracePacket, type TraceResult } from '@kpb/backend';
import type { Plan } from '@kpb/compiler';
import { renderText } from './render.ts';
import { parseSave, tokenize } from './saved.ts';

interface Option {
  readonly neg: boolean;
  readonly name: string;
  readonly values: readonly string[];
}

interface Match {
  readonly module: string;
  readonly options: Option[];
}

interface ParsedRule {
  readonly table: string;
  readonly chain: string;
  readonly line: string;
  readonly header: Option[];
  readonly matches: Match[];
  readonly target?: string;
  readonly targetArgs: readonly string[];
}

export type ParsedTables = Map<string, Map<string, ParsedRule[]>>;

/** Parse one `-A` rule line. */
function parseRule(table: string, line: string): ParsedRule {
  const w = tokenize(line);
  const chain = w[1] ?? '';
  const header: Option[] = [];
  const matches: Match[] = [];
  let target: string | undefined;
  let targetArgs: string[] = [];
  let neg = false;
  let current: Match | undefined;
  for (let i = 2; i < w.length; i++) {
    const word = w[i]!;
    if (word === '!') {
      neg = true;
      continue;
    }
    if (word === '-j' || word === '-g') {
      target = w[i + 1];
      targetArgs = w.slice(i + 2);
      break;
    }
    if (word === '-m') {
      current = { module: w[++i] ?? '', options: [] };
      matches.push(current);
      continue;
    }
    if (word === '-s' || word === '-d' || word === '-p' || word === '-i' || word === '-o') {
      header.push({ neg, name: word, values: [w[++i] ?? ''] });
      neg = false;
      current = undefined;
      continue;
    }
    if (word.startsWith('--')) {
      const values: string[] = [];
      while (i + 1 < w.length && !w[i + 1]!.startsWith('--') && w[i + 1] !== '!' && w[i + 1] !== '-m' && w[i + 1] !== '-j' && w[i + 1] !== '-g') {
        values.push(w[++i]!);
      }
      if (!current) throw new Error(`option ${word} outside a match in: ${line}`);
      current.options.push({ neg, name: word, values });
      neg = false;
      continue;
    }
    throw new Error(`cannot parse "${word}" in: ${line}`);
  }
  return { table, chain, line, header, matches, ...(target !== undefined ? { target } : {}), targetArgs };
}

/** Parse iptables-restore text into tables → chains → rules. */
export function parseRules(text: string): ParsedTables {
  const out: ParsedTables = new Map();
  for (const [name, table] of parseSave(text)) {
    const chains = new Map<string, ParsedRule[]>();
    for (const chain of table.declarations.keys()) chains.set(chain, []);
    for (const rule of table.rules) {
      let list = chains.get(rule.chain);
      if (!list) chains.set(rule.chain, (list = []));
      list.push(parseRule(name, rule.line));
    }
    out.set(name, chains);
  }
  return out;
}

interface State {
  readonly dst: string;
  readonly dport: number;
  readonly mark: number;
  readonly dnat?: string;
  readonly masquerade: boolean;
}

type End = 'continue' | 'return' | 'accept' | 'drop' | 'reject';

interface Outcome {
  readonly end: End;
  readonly state: State;
}

const MAX_DEPTH = 64;
const MAX_STEPS = 200_000;
const MAX_PATH = 2_000;

function splitAddress(address: string): { ip: string; port: number } {
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    return { ip: address.slice(1, end), port: Number(address.slice(end + 2)) };
  }
  const colon = address.lastIndexOf(':');
  return { ip: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

/** Walk a packet through parsed tables. `localIPs`: the node's addresses. */
export function traceRules(tables: ParsedTables, packet: TracePacket, localIPs: readonly string[]): TraceResult {
  const walk = new TablesWalk(tables, packet, localIPs);
  const start: State = { dst: packet.dst, dport: packet.dport, mark: 0, masquerade: false };
  const branches: TraceBranch[] = [];
  for (const o of walk.runChain('nat', packet.origin === 'local' ? 'OUTPUT' : 'PREROUTING', start, 0)) {
    if (o.end === 'drop' || o.end === 'reject') {
      branches.push({ masquerade: false, fate: o.end });
      continue;
    }
    const filterChain = packet.origin === 'local' ? 'OUTPUT' : walk.isLocal(o.state.dst) ? 'INPUT' : 'FORWARD';
    const f = walk.runChain('filter', filterChain, o.state, 0);
    const post = walk.runChain('nat', 'POSTROUTING', o.state, 0);
    const masquerade = post.some((p) => p.state.masquerade);
    for (const fo of f) {
      const fate = fo.end === 'drop' || fo.end === 'reject' ? fo.end : 'accept';
      branches.push({ ...(o.state.dnat !== undefined ? { endpoint: o.state.dnat } : {}), masquerade, fate });
    }
  }
  return { verdict: traceVerdict(branches), path: walk.path };
}

/** One packet's walk through the tables: the path it took and the step budget. */
class TablesWalk {
  readonly path: string[] = [];
  readonly #tables: ParsedTables;
  readonly #packet: TracePacket;
  readonly #proto: string;
  readonly #localIPs: readonly string[];
  readonly #loopback: readonly string[];
  #steps = 0;

  constructor(tables: ParsedTables, packet: TracePacket, localIPs: readonly string[]) {
    this.#tables = tables;
    this.#packet = packet;
    this.#proto = packet.protocol.toLowerCase();
    this.#localIPs = localIPs;
    this.#loopback = packet.src.includes(':') ? ['::1/128'] : ['127.0.0.0/8'];
  }

  isLocal(ip: string): boolean {
    return this.#localIPs.includes(ip) || this.#loopback.some((c) => cidrContains(c, ip));
  }

  #note(text: string): void {
    if (this.path.length < MAX_PATH) this.path.push(text);
  }

  #matchHeader(rule: ParsedRule, state: State): boolean {
    for (const h of rule.header) {
      const v = h.values[0]!;
      let ok: boolean;
      if (h.name === '-s') ok = cidrContains(v, this.#packet.src);
      else if (h.name === '-d') ok = cidrContains(v, state.dst);
      else if (h.name === '-p') ok = v === this.#proto || v === 'all';
      else ok = false; // interfaces: the tracer knows none
      if (ok === h.neg) return false;
    }
    return true;
  }

  /** Whether one option of a match module holds (before negation). */
  #matchOption(rule: ParsedRule, m: Match, o: Option, state: State): boolean {
    switch (m.module) {
      case 'comment':
        return true;
      case 'tcp':
      case 'udp':
      case 'sctp':
        return o.name === '--dport' ? Number(o.values[0]) === state.dport : true;
      case 'addrtype':
        if (o.values[0] !== 'LOCAL') throw new Error(`tracer: addrtype ${o.values[0]} unsupported in: ${rule.line}`);
        return o.name === '--dst-type' ? this.isLocal(state.dst) : this.#packet.origin === 'local' || this.isLocal(this.#packet.src);
      case 'statistic':
        return true;
      case 'recent':
        return !(o.name === '--rcheck' || o.name === '--update');
      case 'mark': {
        const [v, mask] = (o.values[0] ?? '').split('/');
        const value = Number(v);
        const m2 = mask === undefined ? 0xffffffff : Number(mask);
        return ((state.mark & m2) >>> 0) === value;
      }
      case 'conntrack':
        return o.name === '--ctstate' ? (o.values[0] ?? '').split(',').includes('NEW') : true;
      default:
        throw new Error(`tracer: match module ${m.module} unsupported in: ${rule.line}`);
    }
  }

  /** true, false, or 'branch' when the rule matches only sometimes (`-m statistic`). */
  #matchOne(rule: ParsedRule, state: State): boolean | 'branch' {
    if (!this.#matchHeader(rule, state)) return false;
    let branch = false;
    for (const m of rule.matches) {
      for (const o of m.options) {
        if ((m.module === 'tcp' || m.module === 'udp' || m.module === 'sctp') && m.module !== this.#proto) return false;
        if (m.module === 'statistic' && o.name === '--probability') branch = true;
        if (this.#matchOption(rule, m, o, state) === o.neg) return false;
      }
      if (m.options.length === 0 && m.module !== 'comment' && m.module !== this.#proto) {
        throw new Error(`tracer: match ${m.module} without options in: ${rule.line}`);
      }
    }
    return branch ? 'branch' : true;
  }

  /** What a matching rule's target does to the packet: a new state to go on with, or outcomes. */
  #applyTarget(table: string, rule: ParsedRule, st: State, depth: number, next: State[], done: Outcome[]): void {
    const t = rule.target;
    const chains = this.#tables.get(table);
    if (t === undefined) {
      next.push(st);
    } else if (t === 'ACCEPT' || t === 'DROP' || t === 'REJECT' || t === 'RETURN') {
      done.push({ end: t === 'RETURN' ? 'return' : (t.toLowerCase() as End), state: st });
    } else if (t === 'MARK') {
      const i = rule.targetArgs.indexOf('--set-xmark');
      const [v, mask] = (rule.targetArgs[i + 1] ?? '0/0').split('/');
      const mark = (((st.mark & ~Number(mask)) >>> 0) ^ Number(v)) >>> 0;
      next.push({ ...st, mark });
    } else if (t === 'DNAT') {
      const to = rule.targetArgs[rule.targetArgs.indexOf('--to-destination') + 1] ?? '';
      const { ip, port } = splitAddress(to);
      done.push({ end: 'accept', state: { ...st, dnat: to, dst: ip, dport: port } });
    } else if (t === 'MASQUERADE') {
      done.push({ end: 'accept', state: { ...st, masquerade: true } });
    } else if (chains?.has(t)) {
      for (const o of this.runChain(table, t, st, depth + 1)) {
        if (o.end === 'continue' || o.end === 'return') next.push(o.state);
        else done.push(o);
      }
    } else {
      throw new Error(`tracer: unknown target ${t} in: ${rule.line}`);
    }
  }

  runChain(table: string, chain: string, state: State, depth: number): Outcome[] {
    const rules = this.#tables.get(table)?.get(chain);
    if (!rules) return [{ end: 'continue', state }];
    if (depth > MAX_DEPTH) throw new Error(`tracer: chain nesting deeper than ${MAX_DEPTH} at ${table} ${chain}`);
    let live: State[] = [state];
    const done: Outcome[] = [];
    for (const rule of rules) {
      if (live.length === 0) break;
      const next: State[] = [];
      for (const st of live) {
        if (++this.#steps > MAX_STEPS) throw new Error(`tracer: more than ${MAX_STEPS} steps`);
        const m = this.#matchOne(rule, st);
        if (m === false) {
          next.push(st);
          continue;
        }
        if (m === 'branch') next.push(st); // the statistic rule may also not match
        this.#note(`${table} ${rule.line}`);
        this.#applyTarget(table, rule, st, depth, next, done);
      }
      live = next;
    }
    for (const st of live) done.push({ end: 'continue', state: st });
    return done;
  }
}

/** Trace a packet through the rules rendered for the plan. */
export function trace(plan: Plan, packet: TracePacket): TraceResult {
  return traceRules(parseRules(renderText(plan)), packet, plan.nodeIPs);
}
