/** Binomial intervals, summaries over seeds and verdicts on constructed cases (issue 13). */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { combineVerdicts, compareHigher, normalQuantile, positiveVerdict, summarizeSeeds, t95, verdictOf, wilsonInterval } from '../src/stats';

const near = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('normal and t quantiles', () => {
  near(normalQuantile(0.95), 1.959964, 1e-6, 'z 95%');
  near(normalQuantile(0.99), 2.575829, 1e-6, 'z 99%');
  near(normalQuantile(0.5), 0.674490, 1e-6, 'z 50%');
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
  const s = summarizeSeeds([0.40, 0.44, 0.42], 1000);
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
  const a = summarizeSeeds([0.50, 0.51, 0.49], 1000);
  // tie
  assert.equal(compareHigher(a, summarizeSeeds([0.50, 0.51, 0.49], 1000)).verdict, 'inconclusive');
  assert.equal(verdictOf(0, 0), 'inconclusive');
  // inside the interval: +1 point with ±1 point seed spread and 1000 images
  const b = summarizeSeeds([0.51, 0.52, 0.50], 1000);
  const c = compareHigher(b, a);
  assert.ok(c.diff > 0 && c.diff < c.halfWidth, `${c.diff} vs ±${c.halfWidth}`);
  assert.equal(c.verdict, 'inconclusive');
  // a clear win and its mirror
  const strong = summarizeSeeds([0.60, 0.61, 0.59], 1000);
  assert.equal(compareHigher(strong, a).verdict, 'holds');
  assert.equal(compareHigher(a, strong).verdict, 'does not hold');
  // a win too small for 100 images is inconclusive, the same win on 10000 images with tight seeds holds
  assert.equal(compareHigher(summarizeSeeds([0.53], 100), summarizeSeeds([0.50], 100)).verdict, 'inconclusive');
  assert.equal(compareHigher(summarizeSeeds([0.53, 0.53, 0.531], 10000), summarizeSeeds([0.50, 0.501, 0.50], 10000)).verdict, 'holds');
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
  const { lessVariableVerdict } = await import('../src/stats');
  const wave = (amp: number, n: number) => Array.from({ length: n }, (_, i) => amp * Math.sin(1.7 * i) + 0.1 * amp * Math.cos(5.3 * i));
  assert.equal(lessVariableVerdict(wave(0.01, 40), wave(0.05, 40)), 'holds');
  assert.equal(lessVariableVerdict(wave(0.05, 40), wave(0.01, 40)), 'does not hold');
  assert.equal(lessVariableVerdict(wave(0.05, 40), wave(0.052, 40)), 'inconclusive');
  // too few changes to say anything
  assert.equal(lessVariableVerdict([0.1, 0.2], [0.5, -0.5]), 'inconclusive');
});
