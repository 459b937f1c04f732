/**
 * Student's t distribution at real (fractional) degrees of freedom: the Welch–Satterthwaite degrees
 * of freedom of a combined variance are rarely integers, and rounding them down (as a table lookup
 * must) widens every interval at small seed counts.
 */
import { PiatError } from '../util/errors';
import { normalQuantile } from './binomial';

/** log Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error < 1e-14). */
function logGamma(x: number): number {
  const c = [
    0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406, 12.507343278686905,
    -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the regularised incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with `df` > 0 degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * The two-sided Student t quantile: the t with P(|T| ≤ t) = level, for any real df > 0 (Infinity:
 * the normal quantile). 95% at df 1 → 12.706, df 2 → 4.303, df 2.5 → 3.575.
 */
export function studentTQuantile(level: number, df: number): number {
  if (!(level > 0 && level < 1)) throw new PiatError('bad-option', `confidence level must be in (0, 1), got ${level}`);
  if (!(df > 0)) throw new PiatError('bad-option', `t quantile: degrees of freedom must be positive, got ${df}`);
  const z = normalQuantile(level);
  if (df === Infinity || df > 1e7) return z;
  const p = 1 - (1 - level) / 2;
  // Newton's method from the normal quantile (the t quantile is larger, and the CDF is concave
  // beyond it, so the steps increase monotonically to the root); a few steps reach 1e-12
  const logNorm = logGamma((df + 1) / 2) - logGamma(df / 2) - 0.5 * Math.log(df * Math.PI);
  let t = z;
  for (let i = 0; i < 100; i++) {
    const density = Math.exp(logNorm - ((df + 1) / 2) * Math.log1p((t * t) / df));
    const step = (p - studentTCdf(t, df)) / density;
    t += step;
    if (Math.abs(step) < 1e-12 * t) break;
  }
  return t;
}
