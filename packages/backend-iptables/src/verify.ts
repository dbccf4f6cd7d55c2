/**
 * Object-by-object comparison of two canonical rulesets (wanted vs found in the kernel).
 */
import type { Difference } from '@kpb/backend';
import { BUILTIN_CHAINS, TABLES, type TableName } from './names.ts';
import { rulesetText } from './render.ts';
import type { RenderedRuleset, RenderedTable } from './render.ts';
import { isOwnedChain, isOwnedRule, normaliseRule, ownedTable, ownedText, parseSave } from './saved.ts';
import type { SavedTable } from './saved.ts';

/** Parse canonical text (render or read-back) into per-table owned chains and rules. */
function parseCanonical(text: string): Record<'filter' | 'nat', RenderedTable> {
  const saved = parseSave(text);
  return { filter: ownedTable('filter', saved.get('filter')), nat: ownedTable('nat', saved.get('nat')) };
}

function counts(list: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of list) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

function compareChain(table: string, chain: string, want: readonly string[], got: readonly string[], out: Difference[]): void {
  if (want.length === got.length && want.every((r, i) => r === got[i])) return;
  const w = counts(want);
  const g = counts(got);
  let any = false;
  for (const [rule, n] of w) {
    const have = g.get(rule) ?? 0;
    for (let i = have; i < n; i++) {
      out.push({ kind: 'missing', object: `${table} rule in ${chain}: ${rule}` });
      any = true;
    }
  }
  for (const [rule, n] of g) {
    const wanted = w.get(rule) ?? 0;
    for (let i = wanted; i < n; i++) {
      out.push({ kind: 'unexpected', object: `${table} rule in ${chain}: ${rule}` });
      any = true;
    }
  }
  if (!any) {
    out.push({
      kind: 'changed',
      object: `${table} rule order in ${chain}`,
      detail: `wanted:\n${want.join('\n')}\nfound:\n${got.join('\n')}`,
    });
  }
}

/** Differences between wanted and found canonical text. Empty when identical. */
export function diffCanonical(wantText: string, gotText: string): Difference[] {
  if (wantText === gotText) return [];
  const want = parseCanonical(wantText);
  const got = parseCanonical(gotText);
  const out: Difference[] = [];
  for (const t of TABLES) {
    const w = want[t];
    const g = got[t];
    const gotChains = new Set(g.chains);
    const wantChains = new Set(w.chains);
    for (const chain of w.chains) {
      if (!gotChains.has(chain)) out.push({ kind: 'missing', object: `${t} chain ${chain}` });
    }
    for (const chain of g.chains) {
      if (!wantChains.has(chain)) out.push({ kind: 'unexpected', object: `${t} chain ${chain}` });
    }
    for (const chain of [...BUILTIN_CHAINS[t], ...w.chains]) {
      if (!BUILTIN_CHAINS[t].includes(chain) && !gotChains.has(chain)) continue;
      compareChain(t, chain, w.rules.get(chain) ?? [], g.rules.get(chain) ?? [], out);
    }
  }
  return out;
}

const sameLines = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** The same canonical text (`tableLines`) without printing it: the same chains, and the same rules in each one printed. */
function sameTable(t: TableName, want: RenderedTable, got: RenderedTable): boolean {
  if (!sameLines(want.chains, got.chains)) return false;
  const none: readonly string[] = [];
  for (const chain of BUILTIN_CHAINS[t]) if (!sameLines(want.rules.get(chain) ?? none, got.rules.get(chain) ?? none)) return false;
  for (const chain of want.chains) if (!sameLines(want.rules.get(chain) ?? none, got.rules.get(chain) ?? none)) return false;
  return true;
}

/**
 * Differences between a rendered ruleset and what kpb owns in parsed iptables-save tables: one
 * pass over the saved rules, no canonical text unless something differs (then as `diffCanonical`).
 */
export function diffSaved(want: RenderedRuleset, saved: Map<string, SavedTable>): Difference[] {
  if (TABLES.every((t) => sameTable(t, want[t], ownedTable(t, saved.get(t))))) return [];
  return diffCanonical(rulesetText(want), ownedText(saved));
}

/** Where the linear pass is in one table: the next wanted rule of each chain, and the chains declared. */
interface TablePass {
  readonly name: TableName;
  readonly want: RenderedTable;
  readonly next: Map<string, number>;
  declared: number;
  /** The chain of the last rule line (iptables-save prints a chain's rules together), and its wanted rules. */
  chain: string;
  rules: readonly string[] | undefined;
}

/** The saved line at `start` (ending at `end`) is kpb's next rule `expected`, as printed or (in a KUBE- chain) once normalised. */
function isNext(text: string, start: number, end: number, expected: string | undefined, owned: boolean): boolean {
  if (expected === undefined) return false;
  if (end - start === expected.length && text.startsWith(expected, start)) return true;
  return owned && normaliseRule(text.slice(start, end)) === expected;
}

/** One saved line of a table; false when it shows that the table is not what kpb wants. */
function passLine(pass: TablePass, text: string, start: number, end: number): boolean {
  const c = text.charCodeAt(start);
  if (c === 58 /* : */) {
    const sp = text.indexOf(' ', start);
    const chain = text.slice(start + 1, sp < 0 || sp > end ? end : sp);
    if (!isOwnedChain(chain)) return true;
    pass.declared++;
    return pass.want.rules.has(chain);
  }
  if (!text.startsWith('-A ', start)) return true;
  const sameChain = pass.chain !== '' && text.charCodeAt(start + 3 + pass.chain.length) === 32 && text.startsWith(pass.chain, start + 3);
  if (!sameChain) {
    const sp = text.indexOf(' ', start + 3);
    pass.chain = text.slice(start + 3, sp < 0 || sp > end ? end : sp);
    pass.rules = pass.want.rules.get(pass.chain);
  }
  const chain = pass.chain;
  const owned = isOwnedChain(chain);
  if (!owned && !BUILTIN_CHAINS[pass.name].includes(chain)) return true;
  const i = pass.next.get(chain) ?? 0;
  if (isNext(text, start, end, pass.rules?.[i], owned)) {
    pass.next.set(chain, i + 1);
    return true;
  }
  // A built-in chain's rule that is not kpb's next one: someone else's, unless it jumps to a KUBE- chain.
  return !owned && !isOwnedRule(pass.name, { chain, line: text.slice(start, end) });
}

/** Every wanted chain declared and every wanted rule seen (in order, by passLine). */
function passComplete(pass: TablePass): boolean {
  if (pass.declared !== pass.want.chains.length) return false;
  for (const [chain, rules] of pass.want.rules) if ((pass.next.get(chain) ?? 0) !== rules.length) return false;
  return true;
}

/**
 * Does iptables-save `text` hold exactly kpb's `want` (besides others' rules)? One pass over the
 * text comparing each of kpb's saved lines with the rendered line it should be, as strings (a
 * probability normalised only when the strings differ); false at the first sign of a difference,
 * or anything unusual (then diffSaved works it out).
 */
function holdsExactly(want: RenderedRuleset, text: string): boolean {
  const done = new Set<string>();
  let pass: TablePass | undefined;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const c = text.charCodeAt(start);
    if (c === 42 /* * */) {
      const name = text.slice(start + 1, end).trim();
      if (done.has(name)) return false;
      pass = TABLES.includes(name as TableName) ? { name: name as TableName, want: want[name as TableName], next: new Map(), declared: 0, chain: '', rules: undefined } : undefined;
    } else if (c === 35 /* # */) {
      if (text.slice(start, end).includes('incompatible')) return false;
    } else if (text.startsWith('COMMIT', start) && end - start === 6) {
      if (pass && !passComplete(pass)) return false;
      if (pass) done.add(pass.name);
      pass = undefined;
    } else if (pass && end > start && !passLine(pass, text, start, end)) {
      return false;
    }
    start = end + 1;
  }
  return TABLES.every((t) => done.has(t));
}

/** Differences between a rendered ruleset and iptables-save output (as diffSaved, without parsing when they are the same). */
export function diffSavedText(want: RenderedRuleset, text: string): Difference[] {
  return holdsExactly(want, text) ? [] : diffSaved(want, parseSave(text));
}
