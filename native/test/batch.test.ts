// Encoder checks that need no kernel.
import { describe, it, expect } from 'vitest';
import { BatchBuilder, STREAM_MAGIC } from '../index.ts';

describe('BatchBuilder', () => {
  it('writes the header and counts ops', () => {
    const b = new BatchBuilder(64);
    b.addTable({ family: 'ip', name: 't' });
    for (let i = 0; i < 100; i++) b.addChain({ family: 'ip', table: 't', name: `c${i}` });
    const buf = b.finish();
    expect(buf.subarray(0, 4).toString('latin1')).toBe(STREAM_MAGIC);
    expect(buf.readUInt32LE(8)).toBe(101);
    expect(b.opCount).toBe(101);
    // first op: NEWTABLE (0), family ip (2), flags CREATE, length, label "table t"
    expect(buf[12]).toBe(0);
    expect(buf[13]).toBe(2);
    expect(buf.readUInt16LE(14)).toBe(0x400);
    const opLen = buf.readUInt32LE(16);
    expect(buf.readUInt16LE(20)).toBe('table t'.length);
    expect(20 + opLen).toBeLessThan(buf.length);
  });

  it('rejects attributes the schema does not know', () => {
    const b = new BatchBuilder();
    expect(() =>
      b.addRule({ family: 'ip', table: 't', chain: 'c', exprs: [{ name: 'payload', attrs: { nope: 1 } }] }),
    ).toThrow(TypeError);
    const c = new BatchBuilder();
    expect(() =>
      c.addRule({ family: 'ip', table: 't', chain: 'c', exprs: [{ name: 'cmp', attrs: { data: 5 } }] }),
    ).toThrow(/cmp.data must be bytes/);
  });

  it('encodes non-ASCII strings as UTF-8', () => {
    const b = new BatchBuilder();
    b.addTable({ family: 'inet', name: 'täble' }, 'läbel');
    const buf = b.finish();
    expect(buf.includes(Buffer.from('täble', 'utf8'))).toBe(true);
  });

  it('prependOps puts parts in front, in the room left for them or else by copying', () => {
    const chains = (b: BatchBuilder, names: string[]) => names.forEach((name) => b.addChain({ family: 'ip', table: 't', name }));
    const whole = new BatchBuilder();
    chains(whole, ['a', 'b', 'c', 'd', 'e']);
    const expected = Buffer.from(whole.finish());
    for (const room of [0, 10, 4096]) {
      const out = new BatchBuilder(64, room);
      chains(out, ['d', 'e']);
      const p1 = new BatchBuilder(64);
      chains(p1, ['a', 'b']);
      const p2 = new BatchBuilder(64, 100);
      chains(p2, ['c']);
      out.prependOps([p1, p2]);
      expect(out.opCount).toBe(5);
      expect(out.byteLength).toBe(expected.length);
      expect(Buffer.from(out.finish()).equals(expected), `room ${room}`).toBe(true);
    }
  });

  it('writes short and long strings alike: u16 byte length, UTF-8, NUL', () => {
    // Long strings (chain names) take a bulk write, short ones a char loop: both the same bytes.
    for (const s of ['c', 'payload', 'ä', `service-${'x'.repeat(50)}`, `chain-${'ü'.repeat(40)}-€`, 'y'.repeat(0xfffe)]) {
      const b = new BatchBuilder(64);
      b.str(s);
      b.u8(0xaa);
      const bytes = Buffer.from(s, 'utf8');
      const out = b.written();
      expect(Buffer.from(out.subarray(0, 2)).readUInt16LE(0)).toBe(bytes.length);
      expect(Buffer.from(out.subarray(2, 2 + bytes.length)).equals(bytes)).toBe(true);
      expect([...out.subarray(2 + bytes.length)]).toEqual([0, 0xaa]);
    }
    expect(() => new BatchBuilder().str('a\0b')).toThrow(/NUL/);
    expect(() => new BatchBuilder().str(`${'a'.repeat(40)}\0`)).toThrow(/NUL/);
    expect(() => new BatchBuilder().str('z'.repeat(0xffff))).toThrow(RangeError);
    expect(() => new BatchBuilder().str('é'.repeat(0x8000))).toThrow(RangeError);
  });
});
