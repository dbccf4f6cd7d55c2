import { describe, expect, it } from 'vitest';
import { countLines } from '../src/index.ts';

describe('countLines', () => {
  it('counts lines, a last line without its newline too, and none in empty text', () => {
    expect(countLines('')).toBe(0);
    expect(countLines('a\n')).toBe(1);
    expect(countLines('a\nb')).toBe(2);
    expect(countLines('a\nb\n')).toBe(2);
    expect(countLines('\n')).toBe(1);
  });
});
