import { describe, expect, it } from 'vitest';
import { median, medianCI95, quantile, round, summarize } from '../src/stats.ts';

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('statistics', () => {
  it('median of odd and even samples, in any order', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('p90 interpolates between order statistics (type 7)', () => {
    expect(quantile(range(10), 0.9)).toBeCloseTo(9.1, 10);
    expect(quantile(range(11), 0.9)).toBe(10);
    expect(quantile([2, 4], 0.9)).toBeCloseTo(3.8, 10);
    expect(quantile(range(10), 0)).toBe(1);
    expect(quantile(range(10), 1)).toBe(10);
  });

  it('95% CI of the median from binomial order statistics', () => {
    expect(medianCI95(range(5))).toBeUndefined(); // 2 × (1/32) > 5%
    expect(medianCI95(range(6))).toEqual([1, 6]);
    expect(medianCI95(range(10))).toEqual([2, 9]);
    expect(medianCI95(range(20))).toEqual([6, 15]);
    expect(medianCI95(range(100))).toEqual([40, 61]);
    // Order of the input does not matter.
    expect(medianCI95(range(10).reverse())).toEqual([2, 9]);
  });

  it('summarize gives median, p90, min, max and ci95', () => {
    const s = summarize([10, 12, 11, 13, 50, 9, 10, 11, 12, 10]);
    expect(s).toMatchObject({ n: 10, median: 11, min: 9, max: 50 });
    expect(s.p90).toBeCloseTo(16.7, 10);
    expect(s.ci95).toEqual([10, 13]); // sorted: 9 10 10 10 11 11 12 12 13 50 → x(2), x(9)
    expect(summarize([3, 1]).ci95).toBeUndefined();
  });

  it('rejects empty or non-finite samples', () => {
    expect(() => summarize([])).toThrow(/no samples/);
    expect(() => median([1, Number.NaN])).toThrow(/finite/);
    expect(() => quantile([1], 2)).toThrow(/q must be/);
  });

  it('round keeps 4 significant digits', () => {
    expect(round(1234.567)).toBe(1235);
    expect(round(1.234567)).toBe(1.235);
    expect(round(0.00123456)).toBe(0.001235);
    expect(round(0)).toBe(0);
  });
});
