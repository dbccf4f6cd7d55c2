/**
 * Object-by-object comparison of two canonical rulesets (wanted vs found in the kernel).
 */
import type { Difference } from '@kpb/backend';
import { BUILTIN_CHAINS, TABLES, type TableName } from './names.ts';
import { rulesetText } from './render.ts';
import type { RenderedRuleset, RenderedTable } from './render.ts';
import { ownedTable, ownedText, parseSave } from './saved.ts';
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
