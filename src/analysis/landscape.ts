/**
 * Loss landscape around trained weights θ* (paper Eq. 13, Fig. 8): L(θ* + a·d₁ + b·d₂) over a grid
 * of (a, b), with d₁, d₂ Gaussian random directions. CHOSEN (the paper names neither; why:
 * docs/METHOD.md, "Loss landscape"): directions
 * are filter-normalised as in Li et al. (NeurIPS 2018) — each output filter of a kernel is scaled
 * to the norm of the same filter of θ*, and 1-D weights (biases, batch-norm parameters and
 * statistics) get no perturbation — and the loss is the mean CE on PGD examples recomputed at every
 * grid point (`attackAt: 'each-point'`), or made once at θ* (`'center'`), or clean (`attack: null`).
 * The same seed gives the same directions for every model of the same architecture.
 */
import * as tf from '@tensorflow/tfjs';
import { pgd, PgdOptions } from '../attacks/pgd';
import { crossEntropy } from '../attacks/losses';
import { logits } from '../models/forward';
import { FROZEN_PREFIX } from '../models/layers';
import { PiatError } from '../util/errors';
import { Progress } from '../util/progress';
import { contourSegments, Segment } from './boundary';
import { PAPER_EVAL_ATTACK } from '../settings';

export interface LandscapeOptions {
  /** the grid spans [−range, range] in both directions (default 1) */
  range?: number;
  /** grid points per axis (default 11) */
  resolution?: number;
  /** seed of the two directions (default 0) */
  seed?: number;
  /** filter-normalise the directions (default true) */
  filterNormalise?: boolean;
  /** the attack whose examples the loss is measured on (default the paper's PGD20, src/settings.ts); null: clean loss */
  attack?: PgdOptions | null;
  attackAt?: 'each-point' | 'center';
  progress?: boolean;
  /** the progress line's label (default 'loss landscape') */
  label?: string;
}

export interface Landscape {
  /** grid coordinates along each axis */
  coords: number[];
  /** loss at (coords[i], coords[j]), row-major with j (the second direction) outer */
  loss: Float32Array;
}

/** Two random directions in weight space, one tensor per model weight (zeros where not perturbed). */
export function randomDirections(model: tf.LayersModel, seed: number, filterNormalise = true): [tf.Tensor[], tf.Tensor[]] {
  const make = (s: number) =>
    model.weights.map((w, i) =>
      tf.tidy(() => {
        const theta = w.read();
        if (theta.rank < 2 || !w.trainable || w.originalName.startsWith(FROZEN_PREFIX)) return tf.zerosLike(theta);
        const d = tf.randomNormal(theta.shape, 0, 1, 'float32', s * 1000 + i);
        if (!filterNormalise) return d;
        // filters are the last axis of tfjs kernels (Dense [in, out], Conv2D [kh, kw, in, out])
        const axes = theta.shape.slice(0, -1).map((_, k) => k);
        const norm = (t: tf.Tensor) => tf.sqrt(tf.sum(tf.square(t), axes, true));
        return tf.mul(d, tf.div(norm(theta), tf.add(norm(d), 1e-10)));
      }),
    );
  return [make(seed * 2 + 1), make(seed * 2 + 2)];
}

export function lossLandscape(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor1D, o: LandscapeOptions = {}): Landscape {
  const range = o.range ?? 1;
  const r = o.resolution ?? 11;
  if (!(Number.isInteger(r) && r >= 2))
    throw new PiatError('bad-option', `landscape resolution must be a whole number >= 2, got ${o.resolution}`);
  if (!(range > 0)) throw new PiatError('bad-option', `landscape range must be > 0, got ${o.range}`);
  const attack = o.attack === undefined ? PAPER_EVAL_ATTACK : o.attack;
  const coords = Array.from({ length: r }, (_, i) => -range + (2 * range * i) / (r - 1));
  const theta = model.getWeights().map((t) => tf.clone(t));
  const [d1, d2] = randomDirections(model, o.seed ?? 0, o.filterNormalise ?? true);
  const fixedAdv = attack && o.attackAt === 'center' ? pgd(model, x, y, { ...attack, seed: 1 }) : null;
  const loss = new Float32Array(r * r);
  const progress = new Progress({ label: o.label ?? 'loss landscape', total: r * r, enabled: o.progress !== false });
  try {
    for (let j = 0; j < r; j++) {
      for (let i = 0; i < r; i++) {
        const ws = tf.tidy(() => theta.map((t, k) => tf.add(t, tf.add(tf.mul(d1[k], coords[i]), tf.mul(d2[k], coords[j])))));
        model.setWeights(ws);
        tf.dispose(ws);
        loss[j * r + i] = tf.tidy(() => {
          const xe = fixedAdv ?? (attack ? pgd(model, x, y, { ...attack, seed: 1 }) : x);
          return crossEntropy(logits(model, xe, false), y).dataSync()[0];
        });
        progress.tick(1);
      }
    }
  } finally {
    progress.finish();
    model.setWeights(theta);
    tf.dispose([...theta, ...d1, ...d2]);
    if (fixedAdv) fixedAdv.dispose();
  }
  return { coords, loss };
}

/** Iso-loss segments of a landscape at the given levels. */
export function landscapeContours(l: Landscape, levels: number[]): (Segment & { level: number })[] {
  return levels.flatMap((level) =>
    contourSegments(
      l.loss.map((v) => v - level),
      l.coords,
    ).map((s) => ({ ...s, level })),
  );
}

/** Flatness summaries: the loss at θ*, its mean over the grid and the mean rise above the centre. */
export function landscapeStats(l: Landscape): { center: number; mean: number; max: number; meanRise: number } {
  const r = l.coords.length;
  const c = Math.floor(r / 2);
  const center = l.loss[c * r + c];
  const mean = l.loss.reduce((a, b) => a + b, 0) / l.loss.length;
  return { center, mean, max: Math.max(...l.loss), meanRise: mean - center };
}
