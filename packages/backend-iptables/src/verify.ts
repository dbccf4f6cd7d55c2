/**
 * Object-by-object comparison of two canonical rulesets (wanted vs found in the kernel).
 */
import type { Difference } from '@kpb/backend';
import { BUILTIN_CHAINS, TABLES, type TableName } from './names.ts';
import { rulesetText } from './render.ts';
import type { RenderedRuleset, RenderedTable } from './render.ts';
import { normaliseProbability } from './canonical.ts';
import { isOwnedChain, isOwnedRule, ownedTable, ownedText, parseSave } from './saved.ts';
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

/**
 * Where the linear pass is in one table. iptables-save declares kpb's chains and prints their
 * rules in the order `want.chains` lists them, so the pass follows that list with two cursors
 * and looks nothing up by a name read from the text (a Map lookup with a fresh key was most of
 * the pass's time at 45k chains). Built-in and others' chains are looked up by name.
 */
interface TablePass {
  readonly name: TableName;
  readonly want: RenderedTable;
  /** The rules of each of `want.chains`, at the same index. */
  readonly chainRules: readonly (readonly string[] | undefined)[];
  /** Rules of `want` (built-in chains' included): every one must be seen, in its chain's order. */
  readonly wanted: number;
  /** The next wanted rule of each built-in or others' chain left earlier (its rules printed in more than one run). */
  readonly next: Map<string, number>;
  /** kpb chains declared, and the index in `want.chains` of the declaration expected next. */
  declared: number;
  nextDeclared: number;
  /** The index in `want.chains` of the chain whose rules are expected next. */
  nextChain: number;
  /** Wanted rules seen, each where its chain's order puts it. */
  seen: number;
  /** The chain of the last rule line (iptables-save prints a chain's rules together), and its state. */
  chain: string;
  rules: readonly string[] | undefined;
  owned: boolean;
  builtin: boolean;
  /** Index in `rules` of the chain's next wanted rule. */
  at: number;
}

function tablePass(name: TableName, want: RenderedTable): TablePass {
  let wanted = 0;
  for (const rules of want.rules.values()) wanted += rules.length;
  const chainRules = want.chains.map((c) => want.rules.get(c));
  return { name, want, chainRules, wanted, next: new Map(), declared: 0, nextDeclared: 0, nextChain: 0, seen: 0, chain: '', rules: undefined, owned: false, builtin: false, at: 0 };
}

/** `text` at `at` holds the chain name `chain`, ended by a space. */
function holdsName(text: string, at: number, chain: string | undefined): chain is string {
  return chain !== undefined && text.charCodeAt(at + chain.length) === 32 && holdsAt(text, at, chain);
}

/** The chain name from `at` to the next space (or `end`). */
function nameAt(text: string, at: number, end: number): string {
  const sp = text.indexOf(' ', at);
  return text.slice(at, sp < 0 || sp > end ? end : sp);
}

function enter(pass: TablePass, chain: string, rules: readonly string[] | undefined, owned: boolean, builtin: boolean, at: number): void {
  pass.chain = chain;
  pass.rules = rules;
  pass.owned = owned;
  pass.builtin = builtin;
  pass.at = at;
}

/**
 * The pass moves on to the rule line at `start`, of a chain other than the last line's. A kpb
 * chain must be the next one of `want.chains` with rules; false for any other (out of order,
 * printed twice, or holding rules it should not): diffSaved then works out what differs.
 */
function enterChain(pass: TablePass, text: string, start: number, end: number): boolean {
  if (pass.chain !== '' && !pass.owned) pass.next.set(pass.chain, pass.at);
  while (pass.nextChain < pass.chainRules.length && !pass.chainRules[pass.nextChain]?.length) pass.nextChain++;
  const expected = pass.want.chains[pass.nextChain];
  if (holdsName(text, start + 3, expected)) {
    enter(pass, expected, pass.chainRules[pass.nextChain++], true, false, 0);
    return true;
  }
  const chain = nameAt(text, start + 3, end);
  if (isOwnedChain(chain)) return false;
  const builtin = BUILTIN_CHAINS[pass.name].includes(chain);
  enter(pass, chain, builtin ? pass.want.rules.get(chain) : undefined, false, builtin, pass.next.get(chain) ?? 0);
  return true;
}

/**
 * `text` holds `s` at `at`. A slice compared with `===`, not `startsWith(s, at)`: V8 runs the
 * slice and compare several times faster on a long string (measured on Node 20), and a verify
 * pass makes a few of them per saved line.
 */
function holdsAt(text: string, at: number, s: string): boolean {
  return text.slice(at, at + s.length) === s;
}

const PROBABILITY = '--probability ';

/**
 * The saved line from `start` to `end` is `expected` once its probability is normalised
 * (`normaliseRule(line) === expected`), compared in place: the same text before and after the
 * number, and the printed number normalised to the rendered one.
 */
function isNormalisedNext(text: string, start: number, end: number, expected: string): boolean {
  const at = expected.indexOf(PROBABILITY);
  if (at < 0) return false;
  const from = at + PROBABILITY.length;
  if (end - start < from || !holdsAt(text, start, expected.slice(0, from))) return false;
  let to = text.indexOf(' ', start + from);
  if (to < 0 || to > end) to = end;
  let expectedTo = expected.indexOf(' ', from);
  if (expectedTo < 0) expectedTo = expected.length;
  if (end - to !== expected.length - expectedTo || !holdsAt(text, to, expected.slice(expectedTo))) return false;
  return normaliseProbability(text.slice(start + from, to)) === expected.slice(from, expectedTo);
}

/** The saved line at `start` (ending at `end`) is kpb's next rule `expected`, as printed or (in a KUBE- chain) once normalised. */
function isNext(text: string, start: number, end: number, expected: string | undefined, owned: boolean): boolean {
  if (expected === undefined) return false;
  if (end - start === expected.length && holdsAt(text, start, expected)) return true;
  return owned && isNormalisedNext(text, start, end, expected);
}

/** A chain declaration line (`:CHAIN …`); false when it shows that the table is not what kpb wants. */
function passDeclaration(pass: TablePass, text: string, start: number, end: number): boolean {
  if (holdsName(text, start + 1, pass.want.chains[pass.nextDeclared])) {
    pass.declared++;
    return pass.chainRules[pass.nextDeclared++] !== undefined;
  }
  const chain = nameAt(text, start + 1, end);
  if (!isOwnedChain(chain)) return true;
  pass.declared++;
  return pass.want.rules.has(chain);
}

/** One saved line of a table; false when it shows that the table is not what kpb wants. */
function passLine(pass: TablePass, text: string, start: number, end: number): boolean {
  const c = text.charCodeAt(start);
  if (c === 58 /* : */) return passDeclaration(pass, text, start, end);
  if (c !== 45 /* - */ || text.charCodeAt(start + 1) !== 65 /* A */ || text.charCodeAt(start + 2) !== 32) return true;
  if ((pass.chain === '' || !holdsName(text, start + 3, pass.chain)) && !enterChain(pass, text, start, end)) return false;
  if (!pass.owned && !pass.builtin) return true;
  if (isNext(text, start, end, pass.rules?.[pass.at], pass.owned)) {
    pass.at++;
    pass.seen++;
    return true;
  }
  // A built-in chain's rule that is not kpb's next one: someone else's, unless it jumps to a KUBE- chain.
  return !pass.owned && !isOwnedRule(pass.name, { chain: pass.chain, line: text.slice(start, end) });
}

/**
 * Every wanted chain declared and every wanted rule seen. A chain's next-rule index never passes
 * the end of its rules, so `seen === wanted` holds exactly when every chain got all of its rules.
 */
function passComplete(pass: TablePass): boolean {
  return pass.declared === pass.want.chains.length && pass.seen === pass.wanted;
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
      pass = TABLES.includes(name as TableName) ? tablePass(name as TableName, want[name as TableName]) : undefined;
    } else if (c === 35 /* # */) {
      if (text.slice(start, end).includes('incompatible')) return false;
    } else if (end - start === 6 && holdsAt(text, start, 'COMMIT')) {
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
