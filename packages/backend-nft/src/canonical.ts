/**
 * `nft list table` output → kpb's canonical objects, and object-by-object comparison.
 *
 * What nft prints differently from what kpb writes, found by round-tripping:
 * - priorities come back as names (`dstnat - 10`, `srcnat`): turned back into numbers;
 * - set timeouts come back in units (`3h`): turned into seconds;
 * - dynamic sets gain `size 65535`: sizes are dropped (kpb never sets one);
 * - elements come back in nft's own order, wrapped over lines: split and sorted;
 * - elements of dynamic (affinity) sets are runtime state: dropped;
 * - `# handle N` annotations (with `-a`): stripped.
 * Rule text needs no rewriting: kpb writes rules in the form nft lists them.
 */
import type { Difference } from '@kpb/backend';
import { canonOrder, normalizeRuleText, printCanon, sortCanon } from './render.ts';
import type { CanonObject } from './render.ts';

const PRIORITY_NAMES: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };

function parsePriority(text: string): number {
  const t = text.trim();
  if (/^-?\d+$/.test(t)) return Number(t);
  const m = /^([a-z]+)(?:\s*([+-])\s*(\d+))?$/.exec(t);
  if (!m || PRIORITY_NAMES[m[1]!] === undefined) throw new Error(`cannot read chain priority ${JSON.stringify(text)}`);
  const base = PRIORITY_NAMES[m[1]!]!;
  return m[2] === undefined ? base : m[2] === '+' ? base + Number(m[3]) : base - Number(m[3]);
}

const UNIT_SECONDS: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1 };

/** `3h`, `1d2h3m4s`, `10800s`, `500ms` → seconds. */
function parseDuration(text: string): number {
  let total = 0;
  let rest = text.trim();
  for (let i = 0; i < 8 && rest; i++) {
    const m = /^(\d+)(ms|d|h|m|s)/.exec(rest);
    if (!m) throw new Error(`cannot read duration ${JSON.stringify(text)}`);
    total += m[2] === 'ms' ? Number(m[1]) / 1000 : Number(m[1]) * UNIT_SECONDS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  if (rest) throw new Error(`cannot read duration ${JSON.stringify(text)}`);
  return total;
}

/** Split `a, b, c` at top-level commas (commas inside braces or quoted comments stay). */
function splitTop(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = '';
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (quoted) {
      cur += ch;
      continue;
    } else if (ch === '{') depth++;
    else if (ch === '}') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

const braceDelta = (s: string): number => {
  let d = 0;
  for (const ch of s) d += ch === '{' ? 1 : ch === '}' ? -1 : 0;
  return d;
};

/** A listing line without indentation and `# handle N` annotation (the regex only where one is). */
const cleanLine = (line: string): string => (line.includes('# handle') ? line.replace(/\s+# handle \d+\s*$/, '') : line).trim();

/** The objects of an `nft list table FAMILY NAME` output (one table), in the order listed. */
export function listedObjects(text: string): CanonObject[] {
  const lines = text.split('\n').map(cleanLine);
  const out: CanonObject[] = [];
  let table: { name: string; props: string[] } | undefined;
  let obj: { kind: 'chain' | 'set' | 'map'; name: string; props: string[]; items: string[]; type?: string; flags?: string; timeout?: number; comment?: string; base?: string } | undefined;
  const finish = () => {
    if (!obj) return;
    if (obj.kind === 'chain') {
      out.push({ kind: 'chain', name: obj.name, props: [...(obj.base ? [obj.base] : []), ...(obj.comment ? [obj.comment] : [])], items: obj.items });
    } else {
      // A data map (layout `maps`) is declared and listed by `typeof`.
      const props = [obj.type?.startsWith('typeof ') ? obj.type : `type ${obj.type ?? '?'}`];
      if (obj.flags) props.push(`flags ${obj.flags}`);
      if (obj.timeout !== undefined) props.push(`timeout ${obj.timeout}s`);
      if (obj.comment) props.push(obj.comment);
      const dynamic = (obj.flags ?? '').split(',').includes('dynamic');
      out.push({ kind: obj.kind, name: obj.name, props, items: dynamic ? [] : [...obj.items].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) });
    }
    obj = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (!line) continue;
    if (!table) {
      const m = /^table (ip6?|inet|arp|bridge|netdev) (\S+) \{$/.exec(line);
      if (m) table = { name: `${m[1]} ${m[2]}`, props: [] };
      continue;
    }
    if (!obj) {
      const m = /^(chain|set|map) (\S+) \{$/.exec(line);
      if (m) {
        obj = { kind: m[1] as 'chain' | 'set' | 'map', name: m[2]!, props: [], items: [] };
        continue;
      }
      if (line.startsWith('comment "')) table.props.push(line);
      continue; // the table's closing brace, flags, ...
    }
    if (line === '}') {
      finish();
      continue;
    }
    // A statement may continue over several lines while braces are open.
    let depth = braceDelta(line);
    for (let guard = 0; depth > 0 && i + 1 < lines.length && guard < 1_000_000; guard++) {
      const next = lines[++i]!;
      line += ` ${next}`;
      depth += braceDelta(next);
    }
    if (obj.kind === 'chain') {
      const base = line.startsWith('type ') && /^type (\w+) hook (\w+)(?: device \S+)? priority (.+?); policy (\w+);$/.exec(line);
      if (base) obj.base = `type ${base[1]} hook ${base[2]} priority ${parsePriority(base[3]!)} policy ${base[4]}`;
      else if (line.startsWith('comment "')) obj.comment = line;
      else obj.items.push(normalizeRuleText(line));
      continue;
    }
    if (line.startsWith('type ')) obj.type = line.slice(5);
    else if (line.startsWith('typeof ')) obj.type = line;
    else if (line.startsWith('flags ')) obj.flags = line.slice(6);
    else if (line.startsWith('timeout ')) obj.timeout = parseDuration(line.slice(8));
    else if (line.startsWith('comment "')) obj.comment = line;
    else if (line.startsWith('elements = {')) {
      const inner = line.slice('elements = {'.length, line.lastIndexOf('}'));
      // One by one: a spread of a big set's elements (300k at 100k services) overflows the stack.
      for (const item of splitTop(inner)) obj.items.push(item);
    }
    // size, gc-interval, policy, auto-merge: not written by kpb, ignored
  }
  finish();
  if (!table) return [];
  out.push({ kind: 'table', name: table.name, props: table.props, items: [] });
  return out;
}

/** Parse the output of `nft list table FAMILY NAME` (one table), objects in canonical order. */
function parseListing(text: string): CanonObject[] {
  return sortCanon(listedObjects(text));
}

/** Canonical text of an `nft list table` listing. */
export function canonicalizeListing(text: string): string {
  return printCanon(parseListing(text));
}

/** Parse canonical text (as printed by `printCanon`) back into objects. */
export function parseCanon(text: string): CanonObject[] {
  const out: { kind: CanonObject['kind']; name: string; props: string[]; items: string[] }[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    if (!line.startsWith('  ')) {
      const sp = line.indexOf(' ');
      out.push({ kind: line.slice(0, sp) as CanonObject['kind'], name: line.slice(sp + 1), props: [], items: [] });
      continue;
    }
    const cur = out[out.length - 1];
    if (!cur) continue;
    const body = line.slice(2);
    if (body.startsWith('rule ')) cur.items.push(body.slice(5));
    else if (body.startsWith('element ')) cur.items.push(body.slice(8));
    else cur.props.push(body);
  }
  return out;
}

const sameLines = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** `chain NAME`, `set NAME`, … : how a difference names an object. */
export const canonKey = (o: Pick<CanonObject, 'kind' | 'name'>): string => `${o.kind} ${o.name}`;

/** The differences of one wanted object from the object of its kind and name found (if any). */
export function compareObject(w: CanonObject, f: CanonObject | undefined, diffs: Difference[]): void {
  const key = canonKey(w);
  if (!f) {
    diffs.push({ kind: 'missing', object: key });
    return;
  }
  if (!sameLines(w.props, f.props)) {
    diffs.push({ kind: 'changed', object: key, detail: `wanted: ${w.props.join('; ')}\nfound: ${f.props.join('; ')}` });
  }
  if (sameLines(w.items, f.items)) return;
  if (w.kind === 'chain') {
    diffs.push({ kind: 'changed', object: key, detail: ruleDiff(w.items, f.items) });
  } else if (w.kind !== 'table') {
    const fi = new Set(f.items);
    const wi = new Set(w.items);
    for (const e of w.items) if (!fi.has(e)) diffs.push({ kind: 'missing', object: `${key} element ${e}` });
    for (const e of f.items) if (!wi.has(e)) diffs.push({ kind: 'unexpected', object: `${key} element ${e}` });
  }
}

/**
 * Object-by-object differences between what the kernel holds (`found`) and what is wanted, in
 * canonical order (each wanted object's, by kind and name, then the unexpected ones), whatever
 * the order of the inputs: nothing is sorted when nothing differs.
 */
export function compareCanon(wanted: readonly CanonObject[], found: readonly CanonObject[]): Difference[] {
  const foundBy = new Map<string, CanonObject>();
  for (const o of found) foundBy.set(canonKey(o), o);
  const changed: { at: CanonObject; diffs: Difference[] }[] = [];
  for (const w of wanted) {
    const key = canonKey(w);
    const diffs: Difference[] = [];
    compareObject(w, foundBy.get(key), diffs);
    foundBy.delete(key);
    if (diffs.length) changed.push({ at: w, diffs });
  }
  changed.sort((a, b) => canonOrder(a.at, b.at));
  const unexpected = [...foundBy.values()].sort(canonOrder);
  return [...changed.flatMap((c) => c.diffs), ...unexpected.map((f): Difference => ({ kind: 'unexpected', object: canonKey(f) }))];
}

function ruleDiff(wanted: readonly string[], found: readonly string[]): string {
  const fs = new Set(found);
  const ws = new Set(wanted);
  const missing = wanted.filter((r) => !fs.has(r));
  const extra = found.filter((r) => !ws.has(r));
  const lines = [...missing.map((r) => `- ${r}`), ...extra.map((r) => `+ ${r}`)];
  if (lines.length === 0) lines.push(`same rules, different order:\nwanted: ${wanted.join(' | ')}\nfound: ${found.join(' | ')}`);
  return lines.join('\n');
}
