/**
 * One accuracy over several seeds: mean, sample standard deviation, and a 95% interval for the mean
 * that combines the seed-to-seed spread (Student t, seeds − 1 degrees of freedom) with the binomial
 * sampling error of the n test images (the spread over seeds only sees training randomness when
 * every seed is evaluated on the same images).
 */
import { PiatError } from '../util/errors';
import { binomialStdErr, normalQuantile, wilsonInterval, Interval } from './binomial';

export interface SeedSummary {
  /** per-seed accuracies, in the order given */
  values: number[];
  /** test images each accuracy was measured on; absent for a statistic that is not a proportion (a gap, a spread) */
  n?: number;
  mean: number;
  /** sample standard deviation over seeds (0 for one seed) */
  std: number;
  /** standard error of the mean: seed spread and test-set sampling in quadrature */
  stdErr: number;
  /** degrees of freedom of the seed part (seeds − 1; 0 when there is one seed) */
  df: number;
  /** 95% interval for the mean accuracy */
  interval: Interval;
}

/** Two-sided Student t quantile at 95% for df degrees of freedom (df ≥ 1); normal beyond 30. */
export function t95(df: number): number {
  const table = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093,
    2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
  ];
  if (!Number.isInteger(df) || df < 1)
    throw new PiatError('bad-option', `t quantile: degrees of freedom must be a positive integer, got ${df}`);
  return df <= table.length ? table[df - 1] : normalQuantile(0.95);
}

/**
 * Mean, spread and 95% interval over seeds. With `n`, the values are accuracies on n images and the
 * binomial error is included; without it only the seed spread counts, and one seed gives an
 * unbounded interval (nothing is known about the spread).
 */
export function summarizeSeeds(values: number[], n?: number): SeedSummary {
  if (!values.length) throw new PiatError('bad-option', 'summarizeSeeds: no values');
  const nan = values.find((v) => !Number.isFinite(v));
  if (nan !== undefined) throw new PiatError('bad-value', `summarizeSeeds: value ${nan} is not a finite number`);
  const bad = n === undefined ? undefined : values.find((v) => !(v >= 0 && v <= 1));
  if (bad !== undefined) throw new PiatError('bad-value', `summarizeSeeds: accuracy ${bad} is not in [0, 1]`);
  const s = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / s;
  const std = s > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (s - 1)) : 0;
  // the mean over seeds is measured on n·s predictions of the same n images: its sampling error is
  // that of n images (the images are shared), not of n·s
  const seedErr = std / Math.sqrt(s);
  const sampErr = n === undefined ? 0 : binomialStdErr(mean, n);
  const stdErr = s === 1 && n === undefined ? Infinity : Math.sqrt(seedErr ** 2 + sampErr ** 2);
  let interval: Interval;
  if (s === 1) {
    interval = n === undefined ? { lo: -Infinity, hi: Infinity } : wilsonInterval(Math.round(mean * n), n);
  } else {
    const half = Math.sqrt((t95(s - 1) * seedErr) ** 2 + (normalQuantile(0.95) * sampErr) ** 2);
    interval = n === undefined ? { lo: mean - half, hi: mean + half } : { lo: Math.max(0, mean - half), hi: Math.min(1, mean + half) };
  }
  return { values, n, mean, std, stdErr, df: s - 1, interval };
}

/** "48.3 ± 1.2 [46.1, 50.4]" in percent: mean ± std over seeds and the 95% interval of the mean (`interval: false` leaves it out). */
export function formatSummary(x: SeedSummary, o: { digits?: number; interval?: boolean } = {}): string {
  const pct = (v: number) => (100 * v).toFixed(o.digits ?? 1);
  const spread = x.values.length > 1 ? ` ± ${pct(x.std)}` : '';
  const iv = Number.isFinite(x.interval.lo) ? ` [${pct(x.interval.lo)}, ${pct(x.interval.hi)}]` : ' [unknown: one seed]';
  return `${pct(x.mean)}${spread}${o.interval === false ? '' : iv}`;
}
