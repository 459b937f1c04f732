/**
 * Differences between two evaluations that saw the same test images: two methods, or one run's Best
 * and Final checkpoints. Each side is a set of seeds, each seed a 0/1 correctness per image, the same
 * images in the same order on both sides. docs/METHOD.md ("Paired comparisons") derives the formula
 * and works an example.
 *
 * Model: x[m][s][i] = μ_m + a_ms + b_mi + e_msi (seed effect a, image effect b, their interaction e).
 * The estimand is the difference of the expected accuracies over new seeds and new images,
 * μ_A − μ_B; the estimate is the difference of the means. Its variance has a seed part (training
 * randomness) and an image part (which images the test set happened to draw):
 *
 * - seeds paired (both sides ran the same seeds: same initialisation and data order), D = A − B per
 *   seed and image, a two-way layout with S seeds and n images:
 *     Var = var_s(D̄_s)/S  +  [var_i(D̄_i) − MS_e/S]/n
 *   where D̄_s and D̄_i are the seed and image means of D and MS_e the residual mean square of the
 *   two-way layout. The image part is driven only by the images on which the two sides disagree.
 * - seeds not paired (different seed sets): the seed parts of the two sides add (Welch), and the image
 *   part is that of the per-image difference of the two sides' means, less each side's residual:
 *     Var = var_s(Ā_s)/S_A + var_s(B̄_s)/S_B + [var_i(Ā_i − B̄_i) − MS_eA/S_A − MS_eB/S_B]/n
 *
 * A negative image part (sampling noise) counts as 0. The 95% interval is ± t·√Var with the
 * Welch–Satterthwaite degrees of freedom of the terms (the seed terms at their median-unbiased scale:
 * chiSquareMedianRatio). With one seed the seed part is unknown: the
 * verdict is inconclusive ("1 seed") unless a seed variance measured elsewhere is given and named.
 */
import { PiatError } from '../util/errors';
import { studentTQuantile } from './student-t';
import { Interval } from './binomial';
import { Comparison, verdictOf } from './verdict';

/** One side of a comparison: per seed, one value per image (1 correct, 0 not). */
export interface SeedsByImage {
  /** the seed of each row of `values` */
  seeds: number[];
  /** per seed, one value per image; every row has the same images in the same order */
  values: ArrayLike<number>[];
}

/** A seed variance measured elsewhere (same method and profile), for a side with one seed. */
export interface KnownSeedVariance {
  /**
   * the variance over seeds of one run's value: of the per-seed difference when the seeds are paired,
   * of one side's per-seed accuracy when they are not
   */
  variance: number;
  /** its degrees of freedom (seeds it was measured on − 1) */
  df: number;
  /** where it was measured, e.g. "PGD-AT, overfit profile, 6 seeds" */
  source: string;
}

/** One term of the variance: its signed contribution and degrees of freedom (Welch–Satterthwaite). */
export interface VarianceTerm {
  part: 'seed' | 'image';
  /** what it is, e.g. "var_s(D̄_s)/S" */
  label: string;
  variance: number;
  df: number;
}

export interface PairedDifference extends Comparison {
  /** mean(A) − mean(B) over all seeds and images */
  diff: number;
  /** 95% interval of the difference (−∞, ∞ when the seed part is unknown) */
  interval: Interval;
  /** seed (training) part of the variance of `diff`; NaN when unknown */
  seedVariance: number;
  /** image-sampling part of the variance of `diff` (≥ 0) */
  imageVariance: number;
  /** Welch–Satterthwaite degrees of freedom of the total */
  df: number;
  /** the terms the variance and df were built from */
  terms: VarianceTerm[];
  /** the design: images are always paired; seeds where both sides ran the same ones */
  seedsPaired: boolean;
  seedsA: number;
  seedsB: number;
  n: number;
  /** images on which the two sides' mean correctness differs (the only ones the image part sees) */
  discordant: number;
  /** why the verdict is inconclusive regardless of the difference ("1 seed") */
  reason?: string;
  /** the known seed variance used, when one side had one seed */
  knownSeedVariance?: KnownSeedVariance;
}

export interface PairedOptions {
  /** "A is higher than B by more than margin" (default 0) */
  margin?: number;
  /** confidence level (default 0.95) */
  level?: number;
  knownSeedVariance?: KnownSeedVariance;
}

const mean = (x: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
};
const sampleVar = (x: ArrayLike<number>) => {
  const m = mean(x);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - m) ** 2;
  return s / (x.length - 1);
};

/** A seeds × images layout's seed means, image means and residual mean square (two-way, no replication). */
function twoWay(rows: ArrayLike<number>[]): { seedMeans: number[]; imageMeans: Float64Array; residualMS: number } {
  const S = rows.length;
  const n = rows[0].length;
  const seedMeans = rows.map(mean);
  const imageMeans = new Float64Array(n);
  for (const r of rows) for (let i = 0; i < n; i++) imageMeans[i] += r[i] / S;
  const grand = mean(seedMeans);
  let ss = 0;
  if (S > 1 && n > 1) {
    for (let s = 0; s < S; s++) {
      const r = rows[s];
      const ms = seedMeans[s];
      for (let i = 0; i < n; i++) ss += (r[i] - ms - imageMeans[i] + grand) ** 2;
    }
  }
  return { seedMeans, imageMeans, residualMS: S > 1 && n > 1 ? ss / ((S - 1) * (n - 1)) : NaN };
}

function checkSide(x: SeedsByImage, what: string): number {
  if (!x.values.length) throw new PiatError('bad-value', `${what}: no seeds`);
  if (x.seeds.length !== x.values.length)
    throw new PiatError('bad-value', `${what}: ${x.seeds.length} seeds but ${x.values.length} rows of per-image values`);
  if (new Set(x.seeds).size !== x.seeds.length) throw new PiatError('bad-value', `${what}: a seed appears twice (${x.seeds.join(', ')})`);
  const n = x.values[0].length;
  x.values.forEach((r, k) => {
    if (r.length !== n)
      throw new PiatError(
        'bad-value',
        `${what}: seed ${x.seeds[k]} has ${r.length} images, seed ${x.seeds[0]} has ${n}; a paired comparison needs the same images`,
      );
    for (let i = 0; i < r.length; i++)
      if (!Number.isFinite(r[i]))
        throw new PiatError('bad-value', `${what}: seed ${x.seeds[k]}, image ${i}: ${r[i]} is not a finite number`);
  });
  return n;
}

/**
 * median(χ²_k)/k (Wilson–Hilferty). A seed variance on 1–2 degrees of freedom is often far below its
 * true value, and Satterthwaite's df, computed from the estimates, then jumps up exactly when the
 * interval is already too narrow (92 % coverage at 2 seeds in the calibration). Entering the seed
 * terms into the df formula at their median-unbiased scale (estimate ÷ this ratio) keeps the df near
 * the seeds' own when they dominate; the variance itself is not changed.
 */
function chiSquareMedianRatio(k: number): number {
  return (1 - 2 / (9 * k)) ** 3;
}

/** Welch–Satterthwaite degrees of freedom of a sum of signed variance terms. */
export function satterthwaite(terms: { variance: number; df: number }[]): number {
  const total = terms.reduce((s, t) => s + t.variance, 0);
  const denom = terms.reduce((s, t) => s + (t.df > 0 && Number.isFinite(t.df) ? t.variance ** 2 / t.df : 0), 0);
  return denom > 0 ? total ** 2 / denom : Infinity;
}

/** The variance terms of mean(A) − mean(B): see the module comment. */
function varianceTerms(
  a: SeedsByImage,
  b: SeedsByImage,
  n: number,
  paired: boolean,
): { terms: VarianceTerm[]; seedKnown: boolean; imageMeansDiff: Float64Array } {
  const terms: VarianceTerm[] = [];
  const SA = a.values.length;
  const SB = b.values.length;
  if (paired) {
    const order = b.seeds.map((s) => a.seeds.indexOf(s));
    const rows = a.values.map((ra, k) => {
      const rb = b.values[order.indexOf(k)];
      const d = new Float64Array(n);
      for (let i = 0; i < n; i++) d[i] = ra[i] - rb[i];
      return d;
    });
    const w = twoWay(rows);
    if (SA > 1) terms.push({ part: 'seed', label: 'var_s(D̄_s)/S', variance: sampleVar(w.seedMeans) / SA, df: SA - 1 });
    terms.push({ part: 'image', label: 'var_i(D̄_i)/n', variance: n > 1 ? sampleVar(w.imageMeans) / n : 0, df: n - 1 });
    if (SA > 1 && n > 1) terms.push({ part: 'image', label: '−MS_e/(S·n)', variance: -w.residualMS / (SA * n), df: (SA - 1) * (n - 1) });
    return { terms, seedKnown: SA > 1, imageMeansDiff: w.imageMeans };
  }
  const wa = twoWay(a.values);
  const wb = twoWay(b.values);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = wa.imageMeans[i] - wb.imageMeans[i];
  if (SA > 1) terms.push({ part: 'seed', label: 'var_s(Ā_s)/S_A', variance: sampleVar(wa.seedMeans) / SA, df: SA - 1 });
  if (SB > 1) terms.push({ part: 'seed', label: 'var_s(B̄_s)/S_B', variance: sampleVar(wb.seedMeans) / SB, df: SB - 1 });
  terms.push({ part: 'image', label: 'var_i(Ā_i − B̄_i)/n', variance: n > 1 ? sampleVar(d) / n : 0, df: n - 1 });
  if (SA > 1 && n > 1) terms.push({ part: 'image', label: '−MS_eA/(S_A·n)', variance: -wa.residualMS / (SA * n), df: (SA - 1) * (n - 1) });
  if (SB > 1 && n > 1) terms.push({ part: 'image', label: '−MS_eB/(S_B·n)', variance: -wb.residualMS / (SB * n), df: (SB - 1) * (n - 1) });
  return { terms, seedKnown: SA > 1 && SB > 1, imageMeansDiff: d };
}

/**
 * mean(A) − mean(B) with its 95% interval and verdict on "A is higher than B", images paired and
 * seeds paired when both sides ran the same seeds (see the module comment).
 */
export function pairedDifference(a: SeedsByImage, b: SeedsByImage, o: PairedOptions = {}): PairedDifference {
  const n = checkSide(a, 'side A');
  const nb = checkSide(b, 'side B');
  if (n !== nb) throw new PiatError('bad-value', `side A has ${n} images and side B ${nb}; a paired comparison needs the same images`);
  if (n < 1) throw new PiatError('bad-value', 'a paired comparison needs at least one image');
  const paired = a.seeds.length === b.seeds.length && a.seeds.every((s) => b.seeds.includes(s));
  const diff = mean(a.values.map(mean)) - mean(b.values.map(mean));
  const { terms, seedKnown, imageMeansDiff } = varianceTerms(a, b, n, paired);
  let known: KnownSeedVariance | undefined;
  if (!seedKnown && o.knownSeedVariance) {
    known = o.knownSeedVariance;
    if (!(known.variance >= 0) || !(known.df > 0))
      throw new PiatError('bad-option', `knownSeedVariance: variance must be ≥ 0 and df > 0, got ${known.variance} and ${known.df}`);
    // the known variance stands in for each side that has one seed (both sides, when paired: the difference's)
    if (paired) terms.unshift({ part: 'seed', label: `known: ${known.source}`, variance: known.variance / a.values.length, df: known.df });
    else
      for (const x of [a, b])
        if (x.values.length === 1) terms.unshift({ part: 'seed', label: `known: ${known.source}`, variance: known.variance, df: known.df });
  }
  const sum = (part: VarianceTerm['part']) => terms.filter((t) => t.part === part).reduce((s, t) => s + t.variance, 0);
  // a negative image part is sampling noise: it counts as 0 and its terms leave the df
  const imageRaw = sum('image');
  const used = imageRaw > 0 ? terms : terms.filter((t) => t.part !== 'image');
  const imageVariance = Math.max(0, imageRaw);
  const seedVariance = seedKnown || known ? sum('seed') : NaN;
  let discordant = 0;
  for (let i = 0; i < n; i++) if (imageMeansDiff[i] !== 0) discordant++;
  const base = {
    diff,
    seedsPaired: paired,
    seedsA: a.values.length,
    seedsB: b.values.length,
    n,
    discordant,
    terms,
    imageVariance,
    ...(known ? { knownSeedVariance: known } : {}),
  };
  if (!seedKnown && !known) {
    return {
      ...base,
      seedVariance: NaN,
      df: NaN,
      halfWidth: Infinity,
      interval: { lo: -Infinity, hi: Infinity },
      verdict: 'inconclusive',
      reason: '1 seed',
    };
  }
  const total = seedVariance + imageVariance;
  const df = satterthwaite(used.map((t) => (t.part === 'seed' ? { ...t, variance: t.variance / chiSquareMedianRatio(t.df) } : t)));
  const halfWidth = total > 0 ? studentTQuantile(o.level ?? 0.95, df) * Math.sqrt(total) : 0;
  return {
    ...base,
    seedVariance,
    df,
    halfWidth,
    interval: { lo: diff - halfWidth, hi: diff + halfWidth },
    verdict: verdictOf(diff - (o.margin ?? 0), halfWidth),
  };
}

/** A verdict with its reason: "inconclusive (1 seed)", "holds". */
export function verdictLabel(c: Pick<PairedDifference, 'verdict' | 'reason'>): string {
  return c.reason ? `${c.verdict} (${c.reason})` : c.verdict;
}

/**
 * "+2.3 pts [−0.4, +5.0] (seeds ±1.1, images ±0.8; 6 paired seeds, 1000 images)": the difference in
 * points, its 95% interval, the standard error of each part and the design.
 */
export function formatDifference(c: PairedDifference, digits = 1): string {
  const pts = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(100 * v).toFixed(digits)}`;
  const se = (v: number) => (Number.isNaN(v) ? 'unknown' : `±${(100 * Math.sqrt(v)).toFixed(digits)}`);
  const iv = Number.isFinite(c.halfWidth) ? `[${pts(c.interval.lo)}, ${pts(c.interval.hi)}]` : '[unknown: 1 seed]';
  const seeds = c.seedsPaired ? `${c.seedsA} paired seed${c.seedsA === 1 ? '' : 's'}` : `${c.seedsA} vs ${c.seedsB} seeds, unpaired`;
  const known = c.knownSeedVariance ? `; seed variance from ${c.knownSeedVariance.source}` : '';
  return `${pts(c.diff)} pts ${iv} (seeds ${se(c.seedVariance)}, images ${se(c.imageVariance)}; ${seeds}, ${c.n} images${known})`;
}
