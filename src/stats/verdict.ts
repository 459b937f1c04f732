/**
 * A claim's verdict from measurements with uncertainty. "A is higher than B" holds only when the
 * difference of the means is larger than its 95% uncertainty; it does not hold when the opposite is
 * that clear; otherwise (a tie, or a difference inside the uncertainty) it is inconclusive. A tie
 * never holds.
 */
import { normalQuantile } from './binomial';
import { SeedSummary } from './summary';
import { studentTQuantile } from './student-t';

export type Verdict = 'holds' | 'does not hold' | 'inconclusive';

export interface Comparison {
  /** mean(A) − mean(B) */
  diff: number;
  /** half-width of the 95% interval of the difference */
  halfWidth: number;
  verdict: Verdict;
  /** why the verdict is inconclusive whatever the difference, e.g. "1 seed" */
  reason?: string;
}

/**
 * The 95% half-width of mean(A) − mean(B) from summaries alone: seed spreads combined Welch-style
 * (Student t at the Welch–Satterthwaite degrees of freedom), test-set sampling added in quadrature as
 * if each side had its own images. Where both sides saw the same images and their per-image results
 * are kept, `pairedDifference` (paired.ts) is the right estimate: this one is the unpaired fallback
 * (older runs) and the estimate for statistics that are not per-image proportions (a curve's fall).
 */
export function differenceHalfWidth(a: SeedSummary, b: SeedSummary): number {
  // with one seed the training spread (usually the larger part) is unknown
  if (a.values.length < 2 || b.values.length < 2) return Infinity;
  const va = a.values.length > 1 ? a.std ** 2 / a.values.length : 0;
  const vb = b.values.length > 1 ? b.std ** 2 / b.values.length : 0;
  const sa = a.n === undefined ? 0 : (a.mean * (1 - a.mean)) / a.n;
  const sb = b.n === undefined ? 0 : (b.mean * (1 - b.mean)) / b.n;
  const sampling = normalQuantile(0.95) ** 2 * (sa + sb);
  if (va + vb === 0) return Math.sqrt(sampling);
  const dfA = a.values.length - 1;
  const dfB = b.values.length - 1;
  const df = (va + vb) ** 2 / ((dfA > 0 ? va ** 2 / dfA : 0) + (dfB > 0 ? vb ** 2 / dfB : 0));
  return Math.sqrt(studentTQuantile(0.95, df) ** 2 * (va + vb) + sampling);
}

/** Verdict on "A is higher than B (by more than `margin`, default 0)". */
export function compareHigher(a: SeedSummary, b: SeedSummary, margin = 0): Comparison {
  const diff = a.mean - b.mean;
  const halfWidth = differenceHalfWidth(a, b);
  const reason = a.values.length < 2 || b.values.length < 2 ? { reason: '1 seed' } : {};
  return { diff, halfWidth, verdict: verdictOf(diff - margin, halfWidth), ...reason };
}

/** The verdict for an estimated effect (positive = the claim's direction) and its 95% half-width. */
export function verdictOf(effect: number, halfWidth: number): Verdict {
  if (effect > halfWidth && effect > 0) return 'holds';
  if (effect < -halfWidth && effect < 0) return 'does not hold';
  return 'inconclusive';
}

/** A verdict as the predicate of "the claim …": "**holds**", "**does not hold**", "is **inconclusive**". */
export function claimIs(v: Verdict): string {
  return v === 'inconclusive' ? 'is **inconclusive**' : `**${v}**`;
}

/**
 * Several checks of one claim: it holds when every check holds, does not hold when any check
 * clearly fails, and is inconclusive otherwise.
 */
export function combineVerdicts(vs: Verdict[]): Verdict {
  if (!vs.length) return 'inconclusive';
  if (vs.some((v) => v === 'does not hold')) return 'does not hold';
  return vs.every((v) => v === 'holds') ? 'holds' : 'inconclusive';
}

/** Verdict on "this quantity is above zero" (e.g. a fall after the peak), from its summary over seeds. */
export function positiveVerdict(x: SeedSummary): Verdict {
  return verdictOf(x.mean, x.mean - x.interval.lo);
}

/**
 * "Series A varies less than series B" from one run each: the log ratio of their sample variances,
 * whose standard error is about sqrt(2/(nA − 1) + 2/(nB − 1)) for roughly normal values (the
 * epoch-to-epoch changes of an accuracy curve; their autocorrelation is ignored, so this is
 * optimistic). Needs at least 3 values on each side, else inconclusive.
 */
export function lessVariableVerdict(a: number[], b: number[]): Verdict {
  if (a.length < 3 || b.length < 3) return 'inconclusive';
  const v = (x: number[]) => {
    const m = x.reduce((s, y) => s + y, 0) / x.length;
    return x.reduce((s, y) => s + (y - m) ** 2, 0) / (x.length - 1);
  };
  const va = v(a);
  const vb = v(b);
  if (va === 0 && vb === 0) return 'inconclusive';
  const effect = Math.log(Math.max(vb, 1e-300)) - Math.log(Math.max(va, 1e-300));
  return verdictOf(effect, normalQuantile(0.95) * Math.sqrt(2 / (a.length - 1) + 2 / (b.length - 1)));
}
