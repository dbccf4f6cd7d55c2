/**
 * Reading iptables-save output: split a table into what kpb owns (KUBE- chains, their rules,
 * built-in-chain rules that jump to a KUBE- chain) and what belongs to others, and build
 * iptables-restore input that keeps the others' rules around kpb's.
 */
import { normaliseProbability } from './canonical.ts';
import { BUILTIN_CHAINS, OWNED_PREFIX, TABLES, type TableName } from './names.ts';
import { compareNames, tableLines, type RenderedRuleset, type RenderedTable } from './render.ts';

interface SavedRule {
  readonly chain: string;
  readonly line: string;
}

export interface SavedTable {
  readonly name: string;
  /** Chain declaration lines by chain, in the order saved (`:INPUT ACCEPT [0:0]`). */
  readonly declarations: Map<string, string>;
  /** Every `-A` line in order. */
  readonly rules: SavedRule[];
}

/** Split a rule line into words, removing quotes and backslash escapes. */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && line[i] === ' ') i++;
    if (i >= n) break;
    let word = '';
    if (line[i] === '"') {
      i++;
      while (i < n && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < n) i++;
        word += line[i];
        i++;
      }
      i++;
    } else {
      while (i < n && line[i] !== ' ') {
        word += line[i];
        i++;
      }
    }
    out.push(word);
  }
  return out;
}

/** The chain a rule line appends to. */
function ruleChain(line: string): string {
  const end = line.indexOf(' ', 3);
  return end < 0 ? line.slice(3) : line.slice(3, end);
}

/** The jump (-j) or goto (-g) target of a rule, if any. */
function ruleTarget(line: string): string | undefined {
  // Cheap pre-check: no " -j " / " -g " text at all means no target.
  if (!line.includes(' -j ') && !line.includes(' -g ')) return undefined;
  const words = tokenize(line);
  for (let i = 2; i < words.length - 1; i++) {
    if (words[i] === '-j' || words[i] === '-g' || words[i] === '--jump' || words[i] === '--goto') return words[i + 1];
  }
  return undefined;
}

/** Parse iptables-save output. Throws when a table holds rules iptables cannot show. */
export function parseSave(text: string): Map<string, SavedTable> {
  const tables = new Map<string, SavedTable>();
  let current: SavedTable | undefined;
  let start = 0;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.length === 0) continue;
    const c = line.charCodeAt(0);
    if (c === 35 /* # */) {
      if (line.includes('incompatible')) {
        throw new Error(`iptables-save reports a table it cannot show (${line.slice(1).trim()}); refusing to rewrite it`);
      }
      continue;
    }
    if (c === 42 /* * */) {
      current = { name: line.slice(1).trim(), declarations: new Map(), rules: [] };
      tables.set(current.name, current);
      continue;
    }
    if (!current) continue;
    if (c === 58 /* : */) {
      const sp = line.indexOf(' ');
      current.declarations.set(sp < 0 ? line.slice(1) : line.slice(1, sp), line);
    } else if (line.startsWith('-A ')) {
      current.rules.push({ chain: ruleChain(line), line });
    } else if (line === 'COMMIT') {
      current = undefined;
    }
  }
  return tables;
}

export function isOwnedChain(chain: string): boolean {
  return chain.startsWith(OWNED_PREFIX);
}

/** A rule kpb owns: in a KUBE- chain, or in a built-in chain jumping to a KUBE- chain. */
export function isOwnedRule(table: TableName, rule: SavedRule): boolean {
  if (isOwnedChain(rule.chain)) return true;
  if (!BUILTIN_CHAINS[table].includes(rule.chain)) return false;
  const target = ruleTarget(rule.line);
  return target !== undefined && isOwnedChain(target);
}

/** Normalise a saved rule to kpb's canonical form (only the statistic probability differs). */
function normaliseRule(line: string): string {
  const at = line.indexOf('--probability ');
  if (at < 0) return line;
  const from = at + '--probability '.length;
  let to = line.indexOf(' ', from);
  if (to < 0) to = line.length;
  return line.slice(0, from) + normaliseProbability(line.slice(from, to)) + line.slice(to);
}

/** What kpb owns in one saved table, as a RenderedTable (chains sorted, probabilities normalised). */
export function ownedTable(table: TableName, saved: SavedTable | undefined): RenderedTable {
  const rules = new Map<string, string[]>();
  const chains: string[] = [];
  if (!saved) return { rules, chains };
  for (const chain of saved.declarations.keys()) {
    if (isOwnedChain(chain)) {
      chains.push(chain);
      rules.set(chain, []);
    }
  }
  chains.sort(compareNames);
  for (const rule of saved.rules) {
    if (!isOwnedRule(table, rule)) continue;
    let list = rules.get(rule.chain);
    if (!list) rules.set(rule.chain, (list = []));
    list.push(isOwnedChain(rule.chain) ? normaliseRule(rule.line) : rule.line);
  }
  return { rules, chains };
}

/** Canonical text of what kpb owns in saved tables: the same form `renderText` produces. */
export function ownedText(saved: Map<string, SavedTable>): string {
  const out: string[] = [];
  for (const t of TABLES) tableLines(t, ownedTable(t, saved.get(t)), out);
  return out.join('\n') + '\n';
}

/** True when the saved tables hold anything kpb owns. */
export function holdsOwned(saved: Map<string, SavedTable>): boolean {
  for (const t of TABLES) {
    const table = saved.get(t);
    if (!table) continue;
    for (const chain of table.declarations.keys()) if (isOwnedChain(chain)) return true;
    for (const rule of table.rules) if (BUILTIN_CHAINS[t].includes(rule.chain) && isOwnedRule(t, rule)) return true;
  }
  return false;
}

/**
 * iptables-restore input (to be used WITHOUT --noflush) for tables filter and nat: the others'
 * chains and rules as saved, with kpb's replaced by `ruleset` (or removed when it is undefined).
 * In each built-in chain kpb's jumps come first, then the others' rules in their saved order.
 */
export function mergedRestoreInput(saved: Map<string, SavedTable>, ruleset: RenderedRuleset | undefined): { text: string; lines: number } {
  const out: string[] = [];
  for (const t of TABLES) {
    const table = saved.get(t);
    if (!table && !ruleset) continue;
    out.push('*' + t);
    const builtins = BUILTIN_CHAINS[t];
    const foreignChains: string[] = [];
    if (table) {
      for (const [chain, decl] of table.declarations) {
        if (isOwnedChain(chain)) continue;
        out.push(decl);
        if (!builtins.includes(chain)) foreignChains.push(chain);
      }
    }
    const mine = ruleset?.[t];
    if (mine) for (const chain of mine.chains) out.push(':' + chain + ' - [0:0]');
    // Others' rules grouped by chain, kept in order.
    const foreignRules = new Map<string, string[]>();
    if (table) {
      for (const rule of table.rules) {
        if (isOwnedRule(t, rule)) continue;
        let list = foreignRules.get(rule.chain);
        if (!list) foreignRules.set(rule.chain, (list = []));
        list.push(rule.line);
      }
    }
    for (const chain of builtins) {
      const own = mine?.rules.get(chain);
      if (own) for (const r of own) out.push(r);
      const others = foreignRules.get(chain);
      if (others) for (const r of others) out.push(r);
    }
    for (const chain of foreignChains) {
      const others = foreignRules.get(chain);
      if (others) for (const r of others) out.push(r);
    }
    if (mine) {
      for (const chain of mine.chains) {
        const own = mine.rules.get(chain);
        if (own) for (const r of own) out.push(r);
      }
    }
    out.push('COMMIT');
  }
  return { text: out.join('\n') + '\n', lines: out.length };
}

/** iptables-restore input that puts tables filter and nat back exactly as saved (for rollback). */
export function snapshotRestoreInput(saved: Map<string, SavedTable>): string {
  const out: string[] = [];
  for (const t of TABLES) {
    const table = saved.get(t);
    if (!table) continue;
    out.push('*' + t);
    for (const decl of table.declarations.values()) out.push(decl);
    for (const rule of table.rules) out.push(rule.line);
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}

/** Chain names per table from `nft list chains ip|ip6` output. */
export function parseNftChains(text: string): Map<string, string[]> {
  const tables = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('table ')) {
      const name = line.split(' ')[2] ?? '';
      current = [];
      tables.set(name, current);
    } else if (line.startsWith('chain ') && current) {
      let name = line.slice(6, line.endsWith('{') ? -1 : undefined).trim();
      if (name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1);
      current.push(name);
    }
  }
  return tables;
}

/** Marker line separating per-chain listings in one shell run. */
export const CHAIN_MARKER = '@@kpb-chain ';

/**
 * Parse concatenated `iptables -t T -S CHAIN` listings (each after a `@@kpb-chain T CHAIN` line)
 * into saved tables. `ownedChains`: KUBE- chain names (declared, rules not listed).
 */
export function parseChainListings(text: string, ownedChains: Map<string, string[]>): Map<string, SavedTable> {
  const tables = new Map<string, SavedTable>();
  const tableOf = (name: string): SavedTable => {
    let t = tables.get(name);
    if (!t) tables.set(name, (t = { name, declarations: new Map(), rules: [] }));
    return t;
  };
  let table: SavedTable | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith(CHAIN_MARKER)) {
      table = tableOf(line.slice(CHAIN_MARKER.length).split(' ')[0]!);
      continue;
    }
    if (!table) continue;
    if (line.startsWith('-P ')) {
      const [, chain, policy] = line.split(' ');
      table.declarations.set(chain!, `:${chain} ${policy} [0:0]`);
    } else if (line.startsWith('-N ')) {
      const chain = line.slice(3).trim();
      table.declarations.set(chain, `:${chain} - [0:0]`);
    } else if (line.startsWith('-A ')) {
      table.rules.push({ chain: ruleChain(line), line });
    }
  }
  for (const [name, chains] of ownedChains) {
    const t = tableOf(name);
    for (const chain of chains) t.declarations.set(chain, `:${chain} - [0:0]`);
  }
  return tables;
}
