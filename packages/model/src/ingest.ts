/**
 * Reading cluster descriptions: JSON or YAML text as printed by
 * `kubectl get services,endpointslices,nodes -A -o json|yaml` (a `List`), multi-document YAML,
 * a bare array, or a single object. JSON goes through `JSON.parse` (fast on 100 MB inputs);
 * only YAML goes through the `yaml` package.
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import type { Cluster, Warning } from './types.ts';
import { ModelError, sanitizeText, showValue } from './errors.ts';
import { validateObjects, type RawObject } from './validate.ts';

export interface ParseResult {
  readonly cluster: Cluster;
  readonly warnings: Warning[];
}

/** Parses and validates a cluster description. Throws `ModelError` (syntax) or `ModelValidationError`. */
export function parseCluster(text: string, source = '<input>'): ParseResult {
  const warnings: Warning[] = [];
  const objects: RawObject[] = [];
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const first = /\S/.exec(body)?.[0];
  if (first === '{' || first === '[') {
    collect(parseJson(body, source), '', objects);
  } else {
    const docs = parseYaml(body, source, warnings);
    const multi = docs.length > 1;
    docs.forEach((d, i) => collect(d, multi ? `document ${i + 1}` : '', objects));
  }
  const result = validateObjects(objects, source);
  return { cluster: result.cluster, warnings: [...warnings, ...result.warnings] };
}

/** Reads a file and parses it with {@link parseCluster}; the path is the source in messages. */
export async function readClusterFile(path: string): Promise<ParseResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new ModelError({ source: path, detail: `cannot read file${typeof code === 'string' ? ` (${sanitizeText(code, 40)})` : ''}` });
  }
  return parseCluster(text, path);
}

// ---- flattening ----

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  return typeof v === 'object' ? 'object' : typeof v;
}

function join(prefix: string, part: string): string {
  return prefix ? `${prefix} ${part}` : part;
}

/**
 * Adds the objects of one parsed document: a List (or `ServiceList` etc.), an array, or an
 * object. Anything else that is not an object reaches the validator as it is and is refused
 * there; a List whose `items` is not a list is refused here (it used to be skipped as an
 * unknown kind, which made a malformed file an empty cluster).
 */
function collect(doc: unknown, where: string, out: RawObject[]): void {
  if (doc === null || doc === undefined) return; // empty YAML document
  if (Array.isArray(doc)) {
    for (let i = 0; i < doc.length; i++) out.push({ value: doc[i], where: join(where, `[${i}]`) });
    return;
  }
  if (isRecord(doc)) {
    const kind = Object.hasOwn(doc, 'kind') ? doc['kind'] : undefined;
    const items = Object.hasOwn(doc, 'items') ? doc['items'] : undefined;
    if (typeof kind === 'string' && kind.endsWith('List') && !(Array.isArray(items) || items === null || items === undefined)) {
      out.push({ value: doc, where: where || 'document', problem: { field: 'items', detail: `must be a list, got ${typeName(items)} ${showValue(items)}` } });
      return;
    }
    if (typeof kind === 'string' && kind.endsWith('List')) {
      // `List` holds typed items; `ServiceList` etc. (raw API responses) hold items without kind.
      const itemKind = kind === 'List' ? undefined : kind.slice(0, -4);
      const apiVersion = Object.hasOwn(doc, 'apiVersion') ? doc['apiVersion'] : undefined;
      const list: readonly unknown[] = Array.isArray(items) ? items : [];
      for (let i = 0; i < list.length; i++) {
        let item = list[i];
        if (itemKind !== undefined && isRecord(item) && !Object.hasOwn(item, 'kind')) {
          item = { ...item, kind: itemKind, ...(Object.hasOwn(item, 'apiVersion') ? {} : { apiVersion }) };
        }
        out.push({ value: item, where: join(where, `items[${i}]`) });
      }
      return;
    }
  }
  out.push({ value: doc, where: where || 'document' });
}

// ---- JSON ----

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lastNl = -1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lastNl = i;
  }
  return { line, column: offset - lastNl };
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const offset = jsonErrorOffset(text);
    const msg = e instanceof Error ? e.message.replace(/, ".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '') : 'invalid JSON';
    const { line, column } = lineColumn(text, offset < 0 ? text.length : offset);
    throw new ModelError({ source, line, column, detail: `JSON syntax error: ${sanitizeText(msg, 120)}` });
  }
}

// JSON strings may not hold raw control characters (RFC 8259 §7): the class excludes them on purpose.
// eslint-disable-next-line no-control-regex
const JSON_STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const JSON_LITERAL = /true|false|null/y;

/** Offset of the first JSON syntax error (used only after `JSON.parse` failed), -1 if none. */
function jsonErrorOffset(t: string): number {
  let i = 0;
  const stack: number[] = []; // 123 '{', 91 '['
  const skipWs = (): void => {
    while (i < t.length) {
      const c = t.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      i++;
    }
  };
  const sticky = (re: RegExp): boolean => {
    re.lastIndex = i;
    if (!re.test(t)) return false;
    i = re.lastIndex;
    return true;
  };
  let state: 'value' | 'after' | 'key' = 'value';
  for (;;) {
    skipWs();
    if (state === 'value') {
      const c = t[i];
      if (c === '{' || c === '[') {
        stack.push(t.charCodeAt(i));
        i++;
        skipWs();
        if (t[i] === (c === '{' ? '}' : ']')) {
          stack.pop();
          i++;
          state = 'after';
        } else state = c === '{' ? 'key' : 'value';
      } else if (c === '"') {
        if (!sticky(JSON_STRING)) return i;
        state = 'after';
      } else if (!sticky(JSON_NUMBER) && !sticky(JSON_LITERAL)) {
        return i;
      } else state = 'after';
    } else if (state === 'key') {
      if (t[i] !== '"' || !sticky(JSON_STRING)) return i;
      skipWs();
      if (t[i] !== ':') return i;
      i++;
      state = 'value';
    } else {
      const top = stack[stack.length - 1];
      if (top === undefined) return i < t.length ? i : -1;
      const c = t[i];
      if (c === ',') {
        i++;
        state = top === 123 ? 'key' : 'value';
      } else if ((top === 123 && c === '}') || (top === 91 && c === ']')) {
        i++;
        stack.pop();
      } else return i;
    }
  }
}

// ---- YAML ----

function parseYaml(text: string, source: string, warnings: Warning[]): unknown[] {
  const docs = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true });
  if (!Array.isArray(docs)) return []; // empty stream
  const out: unknown[] = [];
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) {
      const { line, column } = lineColumn(text, err.pos[0]);
      throw new ModelError({ source, line, column, detail: `YAML syntax error: ${sanitizeText(err.message, 160)}` });
    }
    for (const w of doc.warnings) {
      const { line } = lineColumn(text, w.pos[0]);
      warnings.push({ source, message: `line ${line}: YAML warning: ${sanitizeText(w.message, 160)}` });
    }
    try {
      out.push(doc.toJS({ maxAliasCount: 100 }));
    } catch (e) {
      const { line, column } = lineColumn(text, doc.range[0]);
      throw new ModelError({ source, line, column, detail: `YAML error: ${sanitizeText(e instanceof Error ? e.message : String(e), 160)}` });
    }
  }
  return out;
}
