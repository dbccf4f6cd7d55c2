/** A reader of the addon's op stream (native/README.md), for the encoder's unit tests. */
import { EXPR } from '@kpb/native';

interface StreamAttr {
  readonly id: number;
  readonly kind: number;
  readonly value: number | bigint | string | Uint8Array | StreamExpr;
}
export interface StreamExpr {
  readonly name: string;
  readonly attrs: StreamAttr[];
}
export interface StreamOp {
  readonly type: number;
  readonly family: number;
  readonly flags: number;
  readonly label: string;
  readonly attrs: StreamAttr[];
  readonly exprs?: StreamExpr[];
  readonly elems?: StreamAttr[][];
}

export function readStream(buf: Uint8Array): StreamOp[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.toString('latin1', 0, 4) !== 'KPBN') throw new Error('bad magic');
  const count = b.readUInt32LE(8);
  let p = 12;
  const str = () => {
    const n = b.readUInt16LE(p);
    const s = b.toString('utf8', p + 2, p + 2 + n);
    p += n + 3;
    return s;
  };
  const attrs = (): StreamAttr[] => {
    const n = b[p++]!;
    const out: StreamAttr[] = [];
    for (let i = 0; i < n; i++) {
      const id = b.readUInt16LE(p);
      const kind = b[p + 2]!;
      p += 3;
      let value: StreamAttr['value'];
      switch (kind) {
        case 1:
          value = b[p++]!;
          break;
        case 2:
          value = b.readUInt16LE(p);
          p += 2;
          break;
        case 3:
          value = b.readUInt32LE(p);
          p += 4;
          break;
        case 4:
          value = b.readBigUInt64LE(p);
          p += 8;
          break;
        case 5:
          value = str();
          break;
        case 6: {
          const n2 = b.readUInt32LE(p);
          value = new Uint8Array(b.subarray(p + 4, p + 4 + n2));
          p += 4 + n2;
          break;
        }
        case 7:
          value = expr();
          break;
        default:
          throw new Error(`bad kind ${kind}`);
      }
      out.push({ id, kind, value });
    }
    return out;
  };
  const expr = (): StreamExpr => ({ name: str(), attrs: attrs() });
  const ops: StreamOp[] = [];
  for (let i = 0; i < count; i++) {
    const type = b[p]!;
    const family = b[p + 1]!;
    const flags = b.readUInt16LE(p + 2);
    const len = b.readUInt32LE(p + 4);
    p += 8;
    const end = p + len;
    const label = str();
    const a = attrs();
    const op: StreamOp = { type, family, flags, label, attrs: a };
    if (type === 6 || type === 8) {
      const n = b.readUInt16LE(p);
      p += 2;
      (op as { exprs?: StreamExpr[] }).exprs = Array.from({ length: n }, expr);
    } else if (type === 12 || type === 14) {
      const n = b.readUInt32LE(p);
      p += 4;
      (op as { elems?: StreamAttr[][] }).elems = Array.from({ length: n }, attrs);
    }
    if (p !== end) throw new Error(`op ${i}: length mismatch`);
    ops.push(op);
  }
  return ops;
}

/** Expression attributes named as in EXPR (and as the addon's listing names them). */
export function namedAttrs(e: StreamExpr): Record<string, number | string> {
  const schema = (EXPR as Record<string, Record<string, { id: number; kind: string }>>)[e.name] ?? {};
  const out: Record<string, number | string> = {};
  for (const a of e.attrs) {
    const entry = Object.entries(schema).find(([, s]) => s.id === a.id);
    const name = entry ? entry[0] : `attr${a.id}`;
    const signed = entry?.[1].kind === 's32';
    out[name] =
      a.value instanceof Uint8Array
        ? Buffer.from(a.value).toString('hex')
        : typeof a.value === 'number'
          ? signed
            ? a.value | 0
            : a.value
          : typeof a.value === 'bigint'
            ? Number(a.value)
            : typeof a.value === 'string'
              ? a.value
              : JSON.stringify(a.value);
  }
  return out;
}
