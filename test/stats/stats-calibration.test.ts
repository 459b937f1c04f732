/**
 * The paired comparison's intervals, calibrated by simulation: experiments with a known truth
 * (src/stats/simulate.ts) run through the real verdict code (pairedDifference). Its 95% intervals
 * must cover the truth in 93–97% of the experiments at 2, 3, 6 and 10 seeds, and "holds" under a true
 * null must be at most 5%. Three wrong methods (mutants) must fail the same test: z instead of t,
 * pooled instead of Welch–Satterthwaite degrees of freedom, and the unpaired binomial image term.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  calibrate,
  IntervalResult,
  pairedDifference,
  PairedDifference,
  SeedsByImage,
  SimulatedDesign,
  SimulatedTruth,
  studentTQuantile,
  verdictOf,
} from '../../src/stats';

const EXPERIMENTS = 2000;
const SEEDS = [2, 3, 6, 10];
const N = 300;

// Accuracies near 45 % with heterogeneous images (many always right or always wrong, as robust
// accuracy is), a seed spread of about 1 point, and methods that disagree on some images.
const base: SimulatedTruth = {
  muA: -0.2,
  muB: -0.2,
  imageSd: 2.5,
  methodImageSd: 0.6,
  seedSdA: 0.08,
  seedSdB: 0.08,
  seedCorrelation: 0.5,
  interactionSd: 0.6,
};

interface Scenario {
  name: string;
  truth: SimulatedTruth;
  design: (S: number) => SimulatedDesign;
}

const SCENARIOS: Scenario[] = [
  // the notebooks' design: both methods run the same seeds; no difference
  { name: 'paired seeds, null', truth: base, design: (S) => ({ n: N, seedsA: S, seedsB: S, seedsPaired: true }) },
  // a real 3-point effect where training randomness dominates the uncertainty
  {
    name: 'paired seeds, effect, seed spread dominates',
    truth: { ...base, muA: -0.05, seedSdA: 0.3, seedSdB: 0.3, seedCorrelation: 0 },
    design: (S) => ({ n: N, seedsA: S, seedsB: S, seedsPaired: true }),
  },
  // different seed sets of the same size: a steady method against a noisy one
  {
    name: 'unpaired seeds, unequal spreads, null',
    truth: { ...base, seedSdA: 0.05, seedSdB: 0.3, seedCorrelation: 0 },
    design: (S) => ({ n: N, seedsA: S, seedsB: S, seedsPaired: false }),
  },
  // seed spread and image sampling of about the same size
  {
    name: 'paired seeds, effect, mixed',
    truth: { ...base, muA: -0.1, seedSdA: 0.12, seedSdB: 0.12, seedCorrelation: 0, methodImageSd: 0.5 },
    design: (S) => ({ n: N, seedsA: S, seedsB: S, seedsPaired: true }),
  },
  // one run's Best and Final: nearly the same model, little seed spread, image sampling dominates
  {
    name: 'paired seeds, effect, image sampling dominates',
    truth: { ...base, muA: -0.1, methodImageSd: 0.4, seedSdA: 0.02, seedSdB: 0.02, seedCorrelation: 0.9 },
    design: (S) => ({ n: N, seedsA: S, seedsB: S, seedsPaired: true }),
  },
];

// the real method's result for the experiment at hand, computed once and shared with the mutants
let last: { a: SeedsByImage; b: SeedsByImage; c: PairedDifference } | undefined;
const analyse = (a: SeedsByImage, b: SeedsByImage) =>
  last && last.a === a && last.b === b ? last.c : (last = { a, b, c: pairedDifference(a, b) }).c;
const real = (a: SeedsByImage, b: SeedsByImage): IntervalResult => analyse(a, b);

/** A wrong method built from the real one's parts: the same estimate, another half-width. */
function mutant(halfWidth: (c: PairedDifference, a: SeedsByImage, b: SeedsByImage) => number) {
  return (a: SeedsByImage, b: SeedsByImage): IntervalResult => {
    const c = analyse(a, b);
    const h = halfWidth(c, a, b);
    return { diff: c.diff, halfWidth: h, verdict: verdictOf(c.diff, h) };
  };
}
const meanOf = (x: SeedsByImage) => x.values.reduce((s, r) => s + Array.from(r).reduce((u, v) => u + v, 0) / r.length, 0) / x.values.length;
const MUTANTS = {
  'z instead of t': mutant((c) => 1.959964 * Math.sqrt(c.seedVariance + c.imageVariance)),
  'pooled degrees of freedom': mutant((c) => studentTQuantile(0.95, c.seedsA + c.seedsB - 2) * Math.sqrt(c.seedVariance + c.imageVariance)),
  'unpaired image term': mutant((c, a, b) => {
    const [pa, pb] = [meanOf(a), meanOf(b)];
    return studentTQuantile(0.95, c.df) * Math.sqrt(c.seedVariance + (pa * (1 - pa) + pb * (1 - pb)) / c.n);
  }),
};

const inBand = (coverage: number) => coverage >= 0.93 && coverage <= 0.97;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

test(`paired comparison: 95% intervals cover the truth in 93–97% of ${EXPERIMENTS} simulated experiments at ${SEEDS.join(', ')} seeds; "holds" under a null ≤ 5%; the mutants fail`, () => {
  const failedCells: Record<string, string[]> = Object.fromEntries(Object.keys(MUTANTS).map((k) => [k, []]));
  const lines: string[] = [];
  let seed = 1;
  for (const sc of SCENARIOS) {
    for (const S of SEEDS) {
      const d = sc.design(S);
      const all = calibrate(d, sc.truth, { real, ...MUTANTS }, { experiments: EXPERIMENTS, seed });
      const r = all.real;
      // unequal seed spreads move the expected accuracy by < 0.02 points: a null for this purpose
      const null_ = sc.name.endsWith('null');
      lines.push(
        `${sc.name}, ${S} seeds: coverage ${pct(r.coverage)}${null_ ? `, holds under the null ${pct(r.holds)}` : `, truth ${pct(r.truth)}, holds ${pct(r.holds)}`}, median ±${pct(r.medianHalfWidth)}`,
      );
      assert.ok(inBand(r.coverage), `${sc.name}, ${S} seeds: coverage ${pct(r.coverage)} outside 93–97%`);
      if (null_) assert.ok(r.holds <= 0.05, `${sc.name}, ${S} seeds: "holds" in ${pct(r.holds)} under a true null`);
      for (const name of Object.keys(MUTANTS) as (keyof typeof MUTANTS)[]) {
        const rm = all[name];
        if (!inBand(rm.coverage) || (null_ && rm.holds > 0.05)) failedCells[name].push(`${sc.name}, ${S} seeds: ${pct(rm.coverage)}`);
      }
      seed++;
    }
  }
  for (const [name, cells] of Object.entries(failedCells))
    lines.push(`mutant "${name}" fails in ${cells.length} cells${cells.length ? `, e.g. ${cells[0]}` : ''}`);
  console.log(lines.map((l) => `calibration: ${l}`).join('\n'));
  for (const [name, cells] of Object.entries(failedCells))
    assert.ok(cells.length > 0, `the mutant "${name}" passes the calibration: the test cannot tell it from the real method`);
});
