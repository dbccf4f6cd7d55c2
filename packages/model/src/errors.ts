/**
 * Errors raised while reading a cluster description. Every message names the input
 * (`source`), the object (`Kind namespace/name`) and the field, and shows offending values
 * through {@link showValue}, so hostile input can never put raw quotes, newlines or control
 * characters into a message.
 */

const MAX_SHOWN = 80;

/** Escapes everything outside printable ASCII as `\uXXXX` (JSON-compatible). */
function asciiOnly(json: string): string {
  return json.replace(/[^\x20-\x7e]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/**
 * A value as it appears in messages: JSON-encoded (strings get quotes, with quotes, newlines,
 * control and non-ASCII characters escaped), truncated to about 80 characters.
 */
export function showValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') {
    if (value.length <= MAX_SHOWN) return asciiOnly(JSON.stringify(value));
    return asciiOnly(JSON.stringify(value.slice(0, MAX_SHOWN))) + '…';
  }
  if (typeof value === 'bigint') return `${value}`;
  if (typeof value === 'function' || typeof value === 'symbol') return typeof value;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  if (json === undefined) return Object.prototype.toString.call(value);
  json = asciiOnly(json);
  return json.length <= MAX_SHOWN ? json : json.slice(0, MAX_SHOWN) + '…';
}

/** Free text (for example a parser's message) made safe for one line of output. */
export function sanitizeText(text: string, max = 200): string {
  const s = asciiOnly(text.replace(/\r?\n/g, ' '));
  return s.length <= max ? s : s.slice(0, max) + '…';
}

export interface ModelErrorInit {
  /** File name, or `'<input>'`. */
  readonly source: string;
  /** `Kind namespace/name` (`Service shop/web`), or '' when the error is not about one object. */
  readonly object?: string;
  /** Field path (`spec.ports[1].nodePort`), or ''. */
  readonly field?: string;
  /** What is wrong, starting with the value when there is one: `"10.96.0.300" is not an IP address`. */
  readonly detail: string;
  /** 1-based line, for syntax errors. */
  readonly line?: number;
  readonly column?: number;
}

/** One problem with the input: `c.yaml: Service shop/web: spec.clusterIP "10.96.0.300" is not an IP address`. */
export class ModelError extends Error {
  readonly source: string;
  readonly object: string;
  readonly field: string;
  readonly detail: string;
  readonly line?: number;
  readonly column?: number;

  constructor(init: ModelErrorInit) {
    super(ModelError.format(init));
    this.name = 'ModelError';
    this.source = init.source;
    this.object = init.object ?? '';
    this.field = init.field ?? '';
    this.detail = init.detail;
    if (init.line !== undefined) this.line = init.line;
    if (init.column !== undefined) this.column = init.column;
  }

  static format(init: ModelErrorInit): string {
    const parts = [init.source];
    if (init.line !== undefined) parts.push(init.column !== undefined ? `line ${init.line}, column ${init.column}` : `line ${init.line}`);
    if (init.object) parts.push(init.object);
    parts.push(init.field ? `${init.field} ${init.detail}` : init.detail);
    return parts.join(': ');
  }
}

const MAX_LINES = 20;

/**
 * Several problems found in one input. It is itself a `ModelError` (carrying the first
 * problem's source, object and field) so `catch (e) { if (e instanceof ModelError) … }` sees both.
 */
export class ModelValidationError extends ModelError {
  readonly errors: readonly ModelError[];

  constructor(errors: readonly ModelError[]) {
    if (errors.length === 0) throw new TypeError('ModelValidationError needs at least one error');
    const first = errors[0]!;
    super({ source: first.source, object: first.object, field: first.field, detail: first.detail, ...(first.line !== undefined ? { line: first.line } : {}) });
    this.name = 'ModelValidationError';
    this.errors = errors;
    const lines = errors.slice(0, MAX_LINES).map((e) => e.message);
    if (errors.length > MAX_LINES) lines.push(`… and ${errors.length - MAX_LINES} more`);
    this.message = lines.join('\n');
  }
}
