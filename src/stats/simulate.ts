/**
 * Simulated comparisons with a known truth, to calibrate an interval (does its 95% cover the truth 95%
 * of the time?) or to size an experiment (how many seeds and images does a 2-point effect need?).
 *
 * Per-image correctness is drawn from a logistic model with the same parts the paired analysis
 * assumes (src/stats/paired.ts): P(correct) = σ(μ_m + θ_i + γ_mi + u_ms + ε_msi) with θ_i an image's
 * difficulty (shared by both methods: that is what pairs them), γ_mi a method's own image effect,
 * u_ms a seed effect (correlated across methods when they share the seed: same initialisation and
 * data order), and ε_msi a seed-by-image effect. Every effect is normal with mean 0. The truth is
 * E[σ(μ_A + Z_A)] − E[σ(μ_B + Z_B)] over all of them, computed by quadrature.
 */
import { Rng } from '../util/rng';
import { PiatError } from '../util/errors';
import { SeedsByImage } from './paired';
import { Verdict } from './verdict';

export interface SimulatedDesign {
  /** test images */
  n: number;
  seedsA: number;
  seedsB: number;
  /** the two methods run the same seeds (needs seedsA = seedsB) */
  seedsPaired: boolean;
}

export interface SimulatedTruth {
  /** mean logit of each method (the method effect) */
  muA: number;
  muB: number;
  /** sd of the shared image difficulty θ */
  imageSd: number;
  /** sd of each method's own image effect γ */
  methodImageSd: number;
  /** sd of the seed effect u, per method */
  seedSdA: number;
  seedSdB: number;
  /** correlation of the two methods' seed effects for a shared seed (0 when seeds are not paired) */
  seedCorrelation: number;
  /** sd of the seed-by-image effect ε */
  interactionSd: number;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** E[σ(μ + Z)], Z ~ N(0, sd²), by Simpson's rule over ±10 sd. */
function expectedAccuracy(mu: number, sd: number): number {
  if (sd === 0) return sigmoid(mu);
  const k = 4000;
  const h = (20 * sd) / k;
  let s = 0;
  for (let j = 0; j <= k; j++) {
    const z = -10 * sd + j * h;
    const w = j === 0 || j === k ? 1 : j % 2 ? 4 : 2;
    s += w * sigmoid(mu + z) * Math.exp((-0.5 * z * z) / (sd * sd));
  }
  return (s * h) / 3 / (sd * Math.sqrt(2 * Math.PI));
}

/** The true difference of the expected accuracies, E[acc_A] − E[acc_B]. */
export function trueDifference(t: SimulatedTruth): number {
  const sd = (seedSd: number) => Math.sqrt(t.imageSd ** 2 + t.methodImageSd ** 2 + seedSd ** 2 + t.interactionSd ** 2);
  return expectedAccuracy(t.muA, sd(t.seedSdA)) - expectedAccuracy(t.muB, sd(t.seedSdB));
}

/** One simulated experiment: both methods' per-image correctness on the same n images. */
export function simulateExperiment(d: SimulatedDesign, t: SimulatedTruth, rng: Rng): { a: SeedsByImage; b: SeedsByImage } {
  // Box–Muller gives normals in pairs: keep the second (half the cost of Rng.normal per draw)
  let spare = NaN;
  const normal = () => {
    if (!Number.isNaN(spare)) {
      const z = spare;
      spare = NaN;
      return z;
    }
    let u = 0;
    while (u === 0) u = rng.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const phi = 2 * Math.PI * rng.next();
    spare = r * Math.sin(phi);
    return r * Math.cos(phi);
  };
  if (d.seedsPaired && d.seedsA !== d.seedsB)
    throw new PiatError('bad-option', `paired seeds need as many on each side, got ${d.seedsA} and ${d.seedsB}`);
  const theta = Float64Array.from({ length: d.n }, () => t.imageSd * normal());
  const shared = Array.from({ length: Math.max(d.seedsA, d.seedsB) }, () => normal());
  const rho = d.seedsPaired ? t.seedCorrelation : 0;
  const side = (S: number, mu: number, seedSd: number, seedBase: number): SeedsByImage => {
    const gamma = Float64Array.from({ length: d.n }, () => t.methodImageSd * normal());
    const values = Array.from({ length: S }, (_, s) => {
      const u = seedSd * (Math.sqrt(rho) * shared[s] + Math.sqrt(1 - rho) * normal());
      const row = new Uint8Array(d.n);
      for (let i = 0; i < d.n; i++) row[i] = rng.next() < sigmoid(mu + theta[i] + gamma[i] + u + t.interactionSd * normal()) ? 1 : 0;
      return row;
    });
    return { seeds: values.map((_, s) => seedBase + s), values };
  };
  // unpaired sides run different seeds
  return { a: side(d.seedsA, t.muA, t.seedSdA, 1), b: side(d.seedsB, t.muB, t.seedSdB, d.seedsPaired ? 1 : 1001) };
}

/** What an interval method returns for one experiment: the estimate, its 95% half-width and the verdict on "A > B". */
export interface IntervalResult {
  diff: number;
  halfWidth: number;
  verdict: Verdict;
}

export interface CalibrationResult {
  experiments: number;
  /** fraction of experiments whose interval holds the truth */
  coverage: number;
  /** fraction whose verdict on "A is higher than B" is "holds" */
  holds: number;
  /** fraction whose verdict is "does not hold" */
  doesNotHold: number;
  /** median half-width */
  medianHalfWidth: number;
  truth: number;
}

/**
 * Runs `experiments` simulated experiments through each of `methods` (the same experiments for all)
 * and counts how often each one's interval covers the truth.
 */
export function calibrate<K extends string>(
  d: SimulatedDesign,
  t: SimulatedTruth,
  methods: Record<K, (a: SeedsByImage, b: SeedsByImage) => IntervalResult>,
  o: { experiments: number; seed: number },
): Record<K, CalibrationResult> {
  const truth = trueDifference(t);
  const rng = new Rng(o.seed);
  const names = Object.keys(methods) as K[];
  const tally = names.map(() => ({ covered: 0, holds: 0, doesNotHold: 0, widths: [] as number[] }));
  for (let e = 0; e < o.experiments; e++) {
    const { a, b } = simulateExperiment(d, t, rng);
    names.forEach((name, k) => {
      const r = methods[name](a, b);
      const c = tally[k];
      if (Math.abs(r.diff - truth) <= r.halfWidth) c.covered++;
      if (r.verdict === 'holds') c.holds++;
      if (r.verdict === 'does not hold') c.doesNotHold++;
      c.widths.push(r.halfWidth);
    });
  }
  const n = o.experiments;
  return Object.fromEntries(
    names.map((name, k) => {
      const c = tally[k];
      c.widths.sort((x, y) => x - y);
      return [
        name,
        {
          experiments: n,
          coverage: c.covered / n,
          holds: c.holds / n,
          doesNotHold: c.doesNotHold / n,
          medianHalfWidth: c.widths[Math.floor(n / 2)],
          truth,
        },
      ];
    }),
  ) as Record<K, CalibrationResult>;
}
