/**
 * The paper's toy example (Sec. III-A): 3-D binary data, two concentric circles with different
 * radii in the (x1, x2) plane plus noise, and a noisy third feature x3. The paper's numbers were
 * lost in extraction; the values below are CHOSEN (docs/METHOD.md, "The toy example") so that PGD adversarial training
 * of a small MLP visibly oscillates, and are all options.
 *
 * Everything is scaled into [0, 1]^3 so the same attacks (which clip to [0, 1]) apply unchanged.
 */
import { ArrayDataset } from './dataset';
import { Rng } from '../util/rng';

export interface TwoCirclesOptions {
  /** examples per class */
  perClass: number;
  seed: number;
  /** circle centre in the (x1, x2) plane */
  center: number;
  /** radius of class 0 ("red", the paper's class 1) */
  rInner: number;
  /** radius of class 1 ("blue", the paper's class 2) */
  rOuter: number;
  /** standard deviation of the radial noise */
  radialNoise: number;
  /** mean of x3 for class 0 and class 1 (a weak third feature) */
  x3Means: [number, number];
  /** standard deviation of x3 */
  x3Noise: number;
}

export const TWO_CIRCLES_DEFAULTS: Omit<TwoCirclesOptions, 'perClass' | 'seed'> = {
  center: 0.5,
  rInner: 0.15,
  rOuter: 0.3,
  radialNoise: 0.03,
  x3Means: [0.45, 0.55],
  x3Noise: 0.08,
};

const clip01 = (v: number) => Math.min(1, Math.max(0, v));

/** Generates the two-circles data; examples of both classes are interleaved. */
export function twoCircles(opts: Partial<TwoCirclesOptions> & { perClass: number; seed: number }): ArrayDataset {
  const o: TwoCirclesOptions = { ...TWO_CIRCLES_DEFAULTS, ...opts };
  const rng = new Rng(o.seed);
  const n = 2 * o.perClass;
  const x = new Float32Array(n * 3);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const cls = i % 2;
    const r = (cls === 0 ? o.rInner : o.rOuter) + o.radialNoise * rng.normal();
    const a = 2 * Math.PI * rng.next();
    x[3 * i] = clip01(o.center + r * Math.cos(a));
    x[3 * i + 1] = clip01(o.center + r * Math.sin(a));
    x[3 * i + 2] = clip01(o.x3Means[cls] + o.x3Noise * rng.normal());
    y[i] = cls;
  }
  return new ArrayDataset('two-circles', x, y, [3], 2);
}
