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
});
