/**
 * Statistics of one figure's samples: median, p90, min, max and a distribution-free 95%
 * confidence interval of the median (order statistics of a binomial(n, ½)); no normality is
 * assumed, which suits skewed timing samples.
 */

export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly p90: number;
  readonly min: number;
  readonly max: number;
  /** 95% confidence interval of the median; absent below 6 samples (95% cannot be reached). */
  readonly ci95?: readonly [number, number];
}

function sorted(samples: readonly number[]): number[] {
  const xs = samples.filter((x) => Number.isFinite(x));
  if (xs.length !== samples.length) throw new RangeError('statistics: samples must be finite numbers');
  return xs.sort((a, b) => a - b);
}

/** Quantile with linear interpolation between order statistics (Hyndman & Fan type 7, numpy's default). */
export function quantile(samples: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  const xs = sorted(samples);
  if (xs.length === 0) throw new RangeError('quantile: no samples');
  const h = (xs.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return xs[lo]! + (h - lo) * (xs[hi]! - xs[lo]!);
}

export function median(samples: readonly number[]): number {
  return quantile(samples, 0.5);
}

/** P(X ≤ k) for X ~ Binomial(n, ½), computed in log space so that large n works. */
function binomHalfCdf(n: number, k: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  let logC = 0; // log C(n, 0)
  let sum = 0;
  const logHalfN = n * Math.log(0.5);
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log((n - i + 1) / i);
    sum += Math.exp(logC + logHalfN);
  }
  return Math.min(1, sum);
}

/**
 * 95% confidence interval of the median: [x(k), x(n−k+1)] (1-based order statistics) with the
 * largest k such that P(Bin(n, ½) ≤ k−1) ≤ 2.5%. Coverage is at least 95%. Undefined when n < 6.
 */
export function medianCI95(samples: readonly number[]): [number, number] | undefined {
  const xs = sorted(samples);
  const n = xs.length;
  if (n < 6) return undefined;
  let k = 0;
  while (k + 1 <= n && binomHalfCdf(n, k) <= 0.025) k++;
  // k is now the largest value with P(X ≤ k−1) ≤ 0.025.
  if (k < 1) return undefined;
  return [xs[k - 1]!, xs[n - k]!];
}

export function summarize(samples: readonly number[]): Summary {
  const xs = sorted(samples);
  if (xs.length === 0) throw new RangeError('summarize: no samples');
  const ci = medianCI95(xs);
  return {
    n: xs.length,
    median: quantile(xs, 0.5),
    p90: quantile(xs, 0.9),
    min: xs[0]!,
    max: xs[xs.length - 1]!,
    ...(ci ? { ci95: ci } : {}),
  };
}

/** Round for publication: 4 significant digits, never losing the integer part. */
export function round(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const digits = Math.max(0, 3 - Math.floor(Math.log10(Math.abs(x))));
  const f = 10 ** Math.min(digits, 9);
  return Math.round(x * f) / f;
}
