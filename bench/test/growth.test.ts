import { describe, expect, it } from 'vitest';
import { growthExponent, isWide } from '../src/growth.ts';

const sizes = [1000, 10_000, 30_000, 100_000];
/** Samples of c · n^k with a multiplicative wobble that averages out on a log scale. */
const series = (k: number, c: number, wobble: readonly number[] = [1]) => sizes.flatMap((n) => wobble.map((w) => ({ services: n, value: c * n ** k * w })));

describe('growth exponent (log–log least squares)', () => {
  it('finds k = 2 and k = 1 exactly for exact n^2 and n^1 series, with an interval of zero width', () => {
    const sq = growthExponent(series(2, 3e-6))!;
    expect(sq.k).toBeCloseTo(2, 10);
    expect(sq.scale).toBeCloseTo(3e-6, 15);
    expect(sq.ci95![0]).toBeCloseTo(2, 8);
    expect(sq.ci95![1]).toBeCloseTo(2, 8);
    const lin = growthExponent(series(1, 0.01))!;
    expect(lin.k).toBeCloseTo(1, 10);
    expect(lin.n).toBe(4);
    expect(lin.sizes).toBe(4);
  });

  it('noisy n^1.5: k is found, the interval holds it, matches the t-based textbook value', () => {
    const g = growthExponent(series(1.5, 1, [0.9, 1, 1.1]))!;
    expect(g.k).toBeCloseTo(1.5, 10); // the wobble is the same at every size, so the slope stays exact
    expect(g.ci95![0]).toBeLessThan(1.5);
    expect(g.ci95![1]).toBeGreaterThan(1.5);
    // By hand: the residuals are the wobble's logs about their mean, at each of the 4 sizes; t(0.975, 10) = 2.228.
    const x = sizes.map(Math.log);
    const mx = x.reduce((a, b) => a + b) / 4;
    const sxx = 3 * x.reduce((a, v) => a + (v - mx) ** 2, 0);
    const logs = [0.9, 1, 1.1].map(Math.log);
    const ml = logs.reduce((a, b) => a + b) / 3;
    const sse = 4 * logs.reduce((a, l) => a + (l - ml) ** 2, 0);
    const half = 2.228138852 * Math.sqrt(sse / 10 / sxx);
    expect(g.ci95![1] - g.k).toBeCloseTo(half, 6);
  });

  it('needs two sizes; two samples give k without an interval; non-positive samples are left out', () => {
    expect(growthExponent([{ services: 1000, value: 1 }, { services: 1000, value: 2 }])).toBeUndefined();
    const two = growthExponent([{ services: 1000, value: 1 }, { services: 10_000, value: 10 }])!;
    expect(two.k).toBeCloseTo(1, 10);
    expect(two.ci95).toBeUndefined();
    expect(growthExponent([{ services: 1000, value: 0 }, { services: 10_000, value: 10 }])).toBeUndefined();
  });
});

describe('wide-interval flag', () => {
  it('flags an interval reaching beyond ±15% of the median on either side, not one within', () => {
    expect(isWide(100, [86, 114])).toBe(false);
    expect(isWide(100, [85, 115])).toBe(false);
    expect(isWide(100, [84, 101])).toBe(true);
    expect(isWide(100, [99, 116])).toBe(true);
    expect(isWide(100, undefined)).toBe(false);
  });
});
