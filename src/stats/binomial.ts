/**
 * Sampling uncertainty of an accuracy measured on n test images: the Wilson score interval for a
 * binomial proportion (well behaved near 0 and 1 and for small n, where the normal interval is not).
 */
import { PiatError } from '../util/errors';

/** The two-sided normal quantile for a confidence level (95% → 1.95996). */
export function normalQuantile(level: number): number {
  if (!(level > 0 && level < 1)) throw new PiatError('bad-option', `confidence level must be in (0, 1), got ${level}`);
  // Acklam's rational approximation of the inverse normal CDF (relative error < 1.2e-9)
  const p = 1 - (1 - level) / 2;
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  if (p > 0.97575) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

export interface Interval {
  lo: number;
  hi: number;
}

/** Wilson score interval of `correct` successes out of `n` at the given level (default 95%). */
export function wilsonInterval(correct: number, n: number, level = 0.95): Interval {
  if (!Number.isInteger(n) || n < 1) throw new PiatError('bad-option', `binomial interval: n must be a positive integer, got ${n}`);
  if (!(correct >= 0 && correct <= n)) throw new PiatError('bad-option', `binomial interval: ${correct} correct out of ${n} is impossible`);
  const z = normalQuantile(level);
  const p = correct / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return { lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}

/** The standard error of an accuracy p measured on n images (binomial). */
export function binomialStdErr(p: number, n: number): number {
  return Math.sqrt((p * (1 - p)) / n);
}
