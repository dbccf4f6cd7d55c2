/**
 * How a figure grows with the cluster: time ≈ c · n^k, k from a least-squares fit of log(time)
 * against log(services) over every kept sample, with a 95% interval from the t distribution
 * of the slope (n − 2 degrees of freedom).
 */
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { linearRegression, linearRegressionLine, mean } from 'simple-statistics';

export interface Growth {
  /** The exponent k of n^k: the slope on log–log axes. */
  readonly k: number;
  /** exp(intercept): the fitted time at one service. */
  readonly scale: number;
  /** 95% interval of k; absent with 2 samples or fewer (no degree of freedom left). */
  readonly ci95?: readonly [number, number];
  /** Samples fitted, and the distinct sizes among them. */
  readonly n: number;
  readonly sizes: number;
}

export interface SizedSample {
  readonly services: number;
  readonly value: number;
}

/** The fit, or undefined below 2 sizes (one size says nothing about growth); samples ≤ 0 are left out (no logarithm). */
export function growthExponent(samples: readonly SizedSample[]): Growth | undefined {
  const kept = samples.filter((s) => s.services > 0 && s.value > 0);
  const sizes = new Set(kept.map((s) => s.services)).size;
  if (sizes < 2) return undefined;
  const xy = kept.map((s) => [Math.log(s.services), Math.log(s.value)]);
  const fit = linearRegression(xy);
  const base = { k: fit.m, scale: Math.exp(fit.b), n: xy.length, sizes };
  if (xy.length <= 2) return base;
  const line = linearRegressionLine(fit);
  const xs = xy.map(([x]) => x!);
  const mx = mean(xs);
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  const sse = xy.reduce((a, [x, y]) => a + (y! - line(x!)) ** 2, 0);
  const se = Math.sqrt(sse / (xy.length - 2) / sxx);
  const t = tQuantile(0.975, xy.length - 2);
  return { ...base, ci95: [fit.m - t * se, fit.m + t * se] };
}

/** How far a cell's 95% interval may reach from its median, as a fraction of the median, before it is flagged. */
export const WIDE_LIMIT = 0.15;

/** Whether a median's 95% interval reaches beyond ±WIDE_LIMIT of it on either side. */
export function isWide(median: number, ci95: readonly [number, number] | undefined): boolean {
  if (!ci95 || !(median > 0)) return false;
  return Math.max(median - ci95[0], ci95[1] - median) > WIDE_LIMIT * median;
}
