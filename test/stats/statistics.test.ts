/** Binomial intervals, summaries over seeds and verdicts on constructed cases (issue 13). */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  combineVerdicts,
  compareHigher,
  normalQuantile,
  positiveVerdict,
  summarizeSeeds,
  t95,
  verdictOf,
  wilsonInterval,
} from '../../src/stats';

const near = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('normal and t quantiles', () => {
  near(normalQuantile(0.95), 1.959964, 1e-6, 'z 95%');
  near(normalQuantile(0.99), 2.575829, 1e-6, 'z 99%');
  near(normalQuantile(0.5), 0.67449, 1e-6, 'z 50%');
  assert.equal(t95(2), 4.303);
  near(t95(1000), 1.959964, 1e-6, 't with many df');
  assert.throws(() => t95(0), /degrees of freedom/);
});

test('Wilson interval against hand-computed values', () => {
  // 45 of 100: centre (0.45 + z²/200)/(1 + z²/100), half z·sqrt(0.45·0.55/100 + z²/40000)/(1 + z²/100)
  const z = 1.959964;
  const d = 1 + (z * z) / 100;
  const c = (0.45 + (z * z) / 200) / d;
  const h = (z * Math.sqrt((0.45 * 0.55) / 100 + (z * z) / 40000)) / d;
  const w = wilsonInterval(45, 100);
  near(w.lo, c - h, 1e-9, 'lo');
  near(w.hi, c + h, 1e-9, 'hi');
  near(w.lo, 0.3561, 1e-4, 'published lo');
  // at the edges it stays inside [0, 1] and is not empty
  const zero = wilsonInterval(0, 50);
  assert.equal(zero.lo, 0);
  assert.ok(zero.hi > 0.05 && zero.hi < 0.1, String(zero.hi));
  assert.throws(() => wilsonInterval(11, 10), /impossible/);
});

test('summary over seeds: mean, sample std, and an interval wider than the binomial one alone', () => {
  const s = summarizeSeeds([0.4, 0.44, 0.42], 1000);
  near(s.mean, 0.42, 1e-12, 'mean');
  near(s.std, 0.02, 1e-12, 'std');
  const seedHalf = 4.303 * (0.02 / Math.sqrt(3));
  const sampHalf = 1.959964 * Math.sqrt((0.42 * 0.58) / 1000);
  near(s.interval.hi - s.mean, Math.sqrt(seedHalf ** 2 + sampHalf ** 2), 1e-6, 'half-width');
  // one seed of an accuracy: the Wilson interval; one seed of a non-proportion: unknown
  const one = summarizeSeeds([0.45], 100);
  near(one.interval.lo, wilsonInterval(45, 100).lo, 1e-12, 'one seed');
  assert.equal(summarizeSeeds([0.03]).interval.hi, Infinity);
  assert.throws(() => summarizeSeeds([1.2], 100), /not in \[0, 1\]/);
  assert.throws(() => summarizeSeeds([NaN]), /finite/);
});

test('verdicts: a tie is never "holds"; a difference inside the interval is inconclusive; a clear win holds and a clear loss does not hold', () => {
  const a = summarizeSeeds([0.5, 0.51, 0.49], 1000);
  // tie
  assert.equal(compareHigher(a, summarizeSeeds([0.5, 0.51, 0.49], 1000)).verdict, 'inconclusive');
  assert.equal(verdictOf(0, 0), 'inconclusive');
  // inside the interval: +1 point with ±1 point seed spread and 1000 images
  const b = summarizeSeeds([0.51, 0.52, 0.5], 1000);
  const c = compareHigher(b, a);
  assert.ok(c.diff > 0 && c.diff < c.halfWidth, `${c.diff} vs ±${c.halfWidth}`);
  assert.equal(c.verdict, 'inconclusive');
  // a clear win and its mirror
  const strong = summarizeSeeds([0.6, 0.61, 0.59], 1000);
  assert.equal(compareHigher(strong, a).verdict, 'holds');
  assert.equal(compareHigher(a, strong).verdict, 'does not hold');
  // a win too small for 100 images is inconclusive, the same win on 10000 images with tight seeds holds
  assert.equal(compareHigher(summarizeSeeds([0.53], 100), summarizeSeeds([0.5], 100)).verdict, 'inconclusive');
  assert.equal(compareHigher(summarizeSeeds([0.53, 0.53, 0.531], 10000), summarizeSeeds([0.5, 0.501, 0.5], 10000)).verdict, 'holds');
  // a non-proportion with one seed: unknown spread, never a verdict either way
  assert.equal(compareHigher(summarizeSeeds([0.05]), summarizeSeeds([0.01])).verdict, 'inconclusive');
  // positive effect over seeds
  assert.equal(positiveVerdict(summarizeSeeds([0.05, 0.06, 0.055])), 'holds');
  assert.equal(positiveVerdict(summarizeSeeds([0.05, -0.04, 0.01])), 'inconclusive');
});

test('combining verdicts: all hold → holds; any clear failure → does not hold; else inconclusive', () => {
  assert.equal(combineVerdicts(['holds', 'holds']), 'holds');
  assert.equal(combineVerdicts(['holds', 'inconclusive']), 'inconclusive');
  assert.equal(combineVerdicts(['holds', 'does not hold', 'inconclusive']), 'does not hold');
  assert.equal(combineVerdicts([]), 'inconclusive');
});

test('"varies less" from one run each: a clear difference in spread holds, similar spreads are inconclusive', async () => {
  const { lessVariableVerdict } = await import('../../src/stats');
  const wave = (amp: number, n: number) => Array.from({ length: n }, (_, i) => amp * Math.sin(1.7 * i) + 0.1 * amp * Math.cos(5.3 * i));
  assert.equal(lessVariableVerdict(wave(0.01, 40), wave(0.05, 40)), 'holds');
  assert.equal(lessVariableVerdict(wave(0.05, 40), wave(0.01, 40)), 'does not hold');
  assert.equal(lessVariableVerdict(wave(0.05, 40), wave(0.052, 40)), 'inconclusive');
  // too few changes to say anything
  assert.equal(lessVariableVerdict([0.1, 0.2], [0.5, -0.5]), 'inconclusive');
});

test('Student t quantiles at real degrees of freedom against published values (scipy.stats.t.ppf(0.975, df))', async () => {
  const { studentTQuantile } = await import('../../src/stats');
  const published: [number, number][] = [
    [1, 12.706204736174694],
    [2, 4.302652729749462],
    [2.5, 3.5746548420036817],
    [3, 3.1824463052837078],
    [5, 2.5705818356363146],
    [10, 2.228138851986274],
    [30, 2.0422724563012378],
    [1000, 1.9623390808264083],
  ];
  for (const [df, t] of published) near(studentTQuantile(0.95, df), t, 1e-9, `t(0.975, ${df})`);
  near(studentTQuantile(0.95, Infinity), 1.959964, 1e-6, 'df ∞');
  assert.throws(() => studentTQuantile(0.95, 0), /degrees of freedom/);
});

test('Welch half-width of two summaries against a hand computation (t at the Welch–Satterthwaite df, not pooled, not z)', () => {
  // seeds 0.40/0.44/0.42 (var 4e-4) against 0.30/0.50 (var 0.02); no sampling term (not proportions)
  const a = summarizeSeeds([0.4, 0.44, 0.42]);
  const b = summarizeSeeds([0.3, 0.5]);
  const va = 4e-4 / 3;
  const vb = 0.02 / 2;
  const df = (va + vb) ** 2 / (va ** 2 / 2 + vb ** 2 / 1);
  near(df, 1.026753, 1e-6, 'Welch df');
  // scipy.stats.t.ppf(0.975, 1.0267532) = 11.949935; the pooled df (3) would give 3.18 and z 1.96
  const c = compareHigher(a, b);
  near(c.halfWidth, 11.949935 * Math.sqrt(va + vb), 1e-5, 'half-width');
  assert.ok(c.halfWidth > 1.0, String(c.halfWidth));
  // one seed on either side: the training spread is unknown, whatever the images say
  const one = compareHigher(summarizeSeeds([0.6], 10000), summarizeSeeds([0.4], 10000));
  assert.equal(one.verdict, 'inconclusive');
  assert.equal(one.reason, '1 seed');
});

test('paired difference: the variance components equal a two-way ANOVA computed independently', async () => {
  const { pairedDifference } = await import('../../src/stats');
  const { Rng } = await import('../../src/util/rng');
  const rng = new Rng(7);
  const S = 3;
  const n = 60;
  const draw = (p: number) =>
    Array.from({ length: S }, () => Uint8Array.from({ length: n }, (_, i) => (rng.next() < p + 0.3 * Math.sin(i) ? 1 : 0)));
  const A = draw(0.55);
  const B = draw(0.5);
  const c = pairedDifference({ seeds: [1, 2, 3], values: A }, { seeds: [3, 1, 2], values: [B[2], B[0], B[1]] });
  // the same by sums of squares: D = A − B, SS_total = SS_seed + SS_image + SS_residual
  const D = A.map((r, s) => Array.from(r, (v, i) => v - B[s][i]));
  const grand = D.flat().reduce((x, y) => x + y, 0) / (S * n);
  const seedMean = D.map((r) => r.reduce((x, y) => x + y, 0) / n);
  const imageMean = Array.from({ length: n }, (_, i) => D.reduce((x, r) => x + r[i], 0) / S);
  const ssSeed = n * seedMean.reduce((x, m) => x + (m - grand) ** 2, 0);
  const ssImage = S * imageMean.reduce((x, m) => x + (m - grand) ** 2, 0);
  const ssTotal = D.flat().reduce((x, v) => x + (v - grand) ** 2, 0);
  const msSeed = ssSeed / (S - 1);
  const msImage = ssImage / (n - 1);
  const msResidual = (ssTotal - ssSeed - ssImage) / ((S - 1) * (n - 1));
  near(c.diff, grand, 1e-12, 'difference');
  assert.ok(c.seedsPaired, 'the same seeds in another order are paired');
  near(c.seedVariance, msSeed / (S * n), 1e-12, 'seed part');
  near(c.imageVariance, Math.max(0, (msImage - msResidual) / (S * n)), 1e-12, 'image part');
  assert.ok(c.imageVariance > 0, 'this example has images on which the two sides disagree');
  assert.ok(c.df > 1 && c.df < Infinity, String(c.df));
  near(c.interval.hi - c.diff, c.halfWidth, 1e-12, 'interval');
});

test('paired difference: identical sides give 0 ± 0 and no verdict; one seed is inconclusive unless a measured seed variance is named', async () => {
  const { pairedDifference, formatDifference, verdictLabel } = await import('../../src/stats');
  const row = Uint8Array.from([1, 0, 1, 1, 0, 1, 0, 0, 1, 1]);
  const same = pairedDifference({ seeds: [1, 2], values: [row, row] }, { seeds: [1, 2], values: [row, row] });
  assert.equal(same.diff, 0);
  assert.equal(same.halfWidth, 0);
  assert.equal(same.verdict, 'inconclusive');
  // one seed, a large difference on 1000 images: still inconclusive (1 seed)
  const all = new Uint8Array(1000).fill(1);
  const half = Uint8Array.from({ length: 1000 }, (_, i) => i % 2);
  const one = pairedDifference({ seeds: [1], values: [all] }, { seeds: [1], values: [half] });
  assert.equal(verdictLabel(one), 'inconclusive (1 seed)');
  assert.match(formatDifference(one), /^\+50\.0 pts \[unknown: 1 seed\] \(seeds unknown, images ±1\.6; 1 paired seed, 1000 images\)$/);
  // with a seed variance measured elsewhere (sd 2 points on 5 df) it can hold, and says where it came from
  const known = pairedDifference(
    { seeds: [1], values: [all] },
    { seeds: [1], values: [half] },
    { knownSeedVariance: { variance: 0.02 ** 2, df: 5, source: 'PGD-AT, overfit, 6 seeds' } },
  );
  assert.equal(known.verdict, 'holds');
  assert.match(formatDifference(known), /seed variance from PGD-AT, overfit, 6 seeds/);
  // different images are refused, naming the problem
  assert.throws(() => pairedDifference({ seeds: [1], values: [all] }, { seeds: [1], values: [row] }), /1000 images and side B 10/);
  assert.throws(() => pairedDifference({ seeds: [1, 1], values: [row, row] }, { seeds: [1], values: [row] }), /appears twice/);
});
